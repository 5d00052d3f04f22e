// Passkeys on the reference page (README "Passkeys"): sign in with one (discoverable: no
// email asked), and, signed in, add, list and remove them. WebAuthn's binary members travel
// as base64url; the conversions are here so that browsers without
// PublicKeyCredential.parse*OptionsFromJSON work too.

function fromB64url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer;
}

function toB64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const descriptors = (list) => (list || []).map((d) => ({ ...d, id: fromB64url(d.id) }));

function creationOptions(o) {
  return {
    ...o,
    challenge: fromB64url(o.challenge),
    user: { ...o.user, id: fromB64url(o.user.id) },
    excludeCredentials: descriptors(o.excludeCredentials),
  };
}

function requestOptions(o) {
  return { ...o, challenge: fromB64url(o.challenge), allowCredentials: descriptors(o.allowCredentials) };
}

function credentialJson(credential) {
  const r = credential.response;
  const response = { clientDataJSON: toB64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toB64url(r.attestationObject);
    response.transports = r.getTransports ? r.getTransports() : [];
  } else {
    response.authenticatorData = toB64url(r.authenticatorData);
    response.signature = toB64url(r.signature);
    if (r.userHandle) response.userHandle = toB64url(r.userHandle);
  }
  return {
    id: credential.id,
    rawId: toB64url(credential.rawId),
    type: credential.type,
    response,
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
  };
}

export function installPasskeys(api, { notify, showError }) {
  const $ = (selector) => document.querySelector(selector);
  const panel = $("#passkeys");
  const list = $("#passkey-list");
  const supported = Boolean(window.PublicKeyCredential);

  async function render() {
    panel.hidden = !api.signedIn || !supported;
    if (panel.hidden) return;
    const { items } = await api.request("GET", "/auth/passkeys", { auth: true });
    list.replaceChildren(
      ...items.map((p) => {
        const li = document.createElement("li");
        li.dataset.passkeyId = p.id;
        const name = document.createElement("span");
        name.className = "passkey-name";
        name.textContent = p.name;
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "secondary";
        remove.textContent = "Remove";
        remove.setAttribute("aria-label", `Remove passkey ${p.name}`);
        remove.addEventListener("click", () =>
          api
            .request("DELETE", `/auth/passkeys/${encodeURIComponent(p.id)}`, { auth: true })
            .then(render, showError),
        );
        li.append(name, " ", remove);
        return li;
      }),
    );
  }

  $("#passkey-add").addEventListener("click", async () => {
    try {
      const { options } = await api.request("POST", "/auth/passkeys/register/options", { auth: true });
      const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
      const name = $("#passkey-name").value.trim();
      await api.request("POST", "/auth/passkeys/register", {
        auth: true,
        json: { name, credential: credentialJson(credential) },
      });
      $("#passkey-name").value = "";
      notify("Passkey added.", "success");
      await render();
    } catch (error) {
      showError(error);
    }
  });

  const login = $("#passkey-login");
  login.hidden = !supported;
  login.addEventListener("click", async () => {
    try {
      const { options } = await api.request("POST", "/auth/passkeys/login/options", { json: {} });
      const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
      const answer = await api.request("POST", "/auth/passkeys/login", {
        json: { credential: credentialJson(credential) },
      });
      if (answer.token_type !== "bearer") {
        notify("This account asks for a code too: log in with the password, then the code.", "info");
        return;
      }
      api._store(answer);
      notify("Signed in with a passkey.", "success");
    } catch (error) {
      showError(error);
    }
  });

  api.addEventListener("signedin", () => render().catch(showError));
  api.addEventListener("signedout", () => render().catch(() => {}));
  render().catch(() => {});
}
