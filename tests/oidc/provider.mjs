// A local OpenID provider for FlowHub's sign-in tests: node-oidc-provider (a certified
// implementation) with its development interactions (a login form that takes any account id,
// then a consent form). Usage: node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
// Accounts: "verified" (email verified), "unverified" (email not verified), "noemail"; any other
// id signs in as an account whose email is "<id>@oidc.test", verified.
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const accounts = {
  verified: { email: 'verified@oidc.test', email_verified: true, name: 'Verified Person' },
  unverified: { email: 'unverified@oidc.test', email_verified: false, name: 'Unverified Person' },
  noemail: { name: 'No Email' },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // the claims go in the ID token, as Google's do (FlowHub also reads userinfo when absent)
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  cookies: { keys: ['flowhub-test-cookie-key'] },
  async findAccount(ctx, id) {
    const claims = accounts[id] ?? { email: `${id}@oidc.test`, email_verified: true, name: id };
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
});

provider.listen(Number(port), '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
