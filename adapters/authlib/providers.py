"""Identity providers through Authlib: OpenID Connect by discovery (Google, any issuer), and
GitHub's OAuth 2.0 (no ID token: its user and verified-emails API).

Authlib builds the authorization requests (code flow, PKCE S256, `state`, `nonce`); its JOSE
library (joserfc) verifies ID tokens against the provider's JWKS with pinned algorithms, then
iss, aud, exp and nonce. httpx makes the calls (Authlib's httpx integration is deprecated in
favour of a package FlowHub does not use). Discovery and the JWKS are fetched once and kept;
a token signed by an unknown key fetches the JWKS again, once (key rotation)."""

from __future__ import annotations

from typing import Any

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from domain.auth.identities import AuthorizationRequest, ProviderClaims
from ports.federation import ProviderError

ALGORITHMS = ("RS256", "ES256", "PS256", "EdDSA")  # never "none", never HS* (a shared secret)
TIMEOUT_S = 10.0
CLOCK_LEEWAY_S = 60


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=TIMEOUT_S, headers={"Accept": "application/json"})


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code != 200:
        raise ProviderError(f"{what}: HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise ProviderError(f"{what}: not JSON") from None
    if not isinstance(body, dict):
        raise ProviderError(f"{what}: not an object")
    return body


class OpenIdProvider:
    def __init__(
        self, name: str, issuer: str, client_id: str, client_secret: str, scope: str = ""
    ) -> None:
        self.name = name
        self.issuer = issuer.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope or "openid email profile"
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    async def _discovered(self) -> dict[str, Any]:
        if self._metadata is None:
            async with _client() as http:
                url = self.issuer + "/.well-known/openid-configuration"
                try:
                    metadata = _json(await http.get(url), "discovery")
                except httpx.HTTPError as failure:
                    raise ProviderError(f"discovery: {type(failure).__name__}") from None
            if metadata.get("issuer") != self.issuer:  # OpenID Connect Discovery 4.3
                raise ProviderError("discovery: the issuer does not match")
            self._metadata = metadata
        return self._metadata

    async def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            metadata = await self._discovered()
            async with _client() as http:
                try:
                    body = _json(await http.get(metadata["jwks_uri"]), "jwks")
                except httpx.HTTPError as failure:
                    raise ProviderError(f"jwks: {type(failure).__name__}") from None
            self._keys = KeySet.import_key_set(body)  # type: ignore[arg-type]
        return self._keys

    async def authorize_url(self, request: AuthorizationRequest, callback_url: str) -> str:
        metadata = await self._discovered()
        return str(
            prepare_grant_uri(
                metadata["authorization_endpoint"],
                self._client_id,
                "code",
                redirect_uri=callback_url,
                scope=self._scope,
                state=request.state,
                nonce=request.nonce,
                code_challenge=create_s256_code_challenge(request.code_verifier),
                code_challenge_method="S256",
            )
        )

    async def claims(
        self, code: str, request: AuthorizationRequest, callback_url: str
    ) -> ProviderClaims:
        metadata = await self._discovered()
        async with _client() as http:
            try:
                tokens = _json(
                    await http.post(
                        metadata["token_endpoint"],
                        data={
                            "grant_type": "authorization_code",
                            "code": code,
                            "redirect_uri": callback_url,
                            "code_verifier": request.code_verifier,
                        },
                        auth=(self._client_id, self._client_secret),
                    ),
                    "token",
                )
                id_token = tokens.get("id_token")
                if not isinstance(id_token, str):
                    raise ProviderError("token: no id_token")
                claims = await self._verified(id_token, request.nonce)
                if "email" not in claims and isinstance(tokens.get("access_token"), str):
                    claims = await self._with_userinfo(http, metadata, claims, tokens)
            except httpx.HTTPError as failure:
                raise ProviderError(f"token: {type(failure).__name__}") from None
        email = claims.get("email")
        return ProviderClaims(
            issuer=self.issuer,
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) and email else None,
            email_verified=claims.get("email_verified") is True,
            name=str(claims.get("name") or "")[:100],
        )

    async def _verified(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            try:
                token = jwt.decode(id_token, await self._key_set(), algorithms=ALGORITHMS)
            except JoseError:  # perhaps a rotated key: fetch the key set once more
                token = jwt.decode(id_token, await self._key_set(True), algorithms=ALGORITHMS)
            registry = jwt.JWTClaimsRegistry(
                leeway=CLOCK_LEEWAY_S,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self._client_id},
                sub={"essential": True},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(token.claims)
        except (JoseError, ValueError) as failure:
            raise ProviderError(f"id_token: {type(failure).__name__}") from None
        claims = dict(token.claims)
        azp = claims.get("azp")
        aud = claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and azp != self._client_id:
            raise ProviderError("id_token: azp")
        return claims

    async def _with_userinfo(
        self,
        http: httpx.AsyncClient,
        metadata: dict[str, Any],
        claims: dict[str, Any],
        tokens: dict[str, Any],
    ) -> dict[str, Any]:
        endpoint = metadata.get("userinfo_endpoint")
        if not isinstance(endpoint, str):
            return claims
        headers = {"Authorization": "Bearer " + tokens["access_token"]}
        info = _json(await http.get(endpoint, headers=headers), "userinfo")
        if info.get("sub") != claims["sub"]:  # OpenID Connect Core 5.3.2
            raise ProviderError("userinfo: another subject")
        return {**info, **claims}


class GitHubProvider:
    """GitHub's OAuth 2.0 apps: the user's id is the subject; the address is the primary one
    GitHub says is verified (GET /user/emails)."""

    AUTHORIZE = "https://github.com/login/oauth/authorize"
    TOKEN = "https://github.com/login/oauth/access_token"  # noqa: S105 (an endpoint)
    API = "https://api.github.com"

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.name = "github"
        self.issuer = "https://github.com"
        self._client_id = client_id
        self._client_secret = client_secret

    async def authorize_url(self, request: AuthorizationRequest, callback_url: str) -> str:
        return str(
            prepare_grant_uri(
                self.AUTHORIZE,
                self._client_id,
                "code",
                redirect_uri=callback_url,
                scope="read:user user:email",
                state=request.state,
                code_challenge=create_s256_code_challenge(request.code_verifier),
                code_challenge_method="S256",
            )
        )

    async def claims(
        self, code: str, request: AuthorizationRequest, callback_url: str
    ) -> ProviderClaims:
        async with _client() as http:
            try:
                tokens = _json(
                    await http.post(
                        self.TOKEN,
                        data={
                            "client_id": self._client_id,
                            "client_secret": self._client_secret,
                            "code": code,
                            "redirect_uri": callback_url,
                            "code_verifier": request.code_verifier,
                        },
                    ),
                    "token",
                )
                access = tokens.get("access_token")
                if not isinstance(access, str):
                    raise ProviderError("token: no access_token")
                headers = {"Authorization": "Bearer " + access}
                user = _json(await http.get(self.API + "/user", headers=headers), "user")
                response = await http.get(self.API + "/user/emails", headers=headers)
            except httpx.HTTPError as failure:
                raise ProviderError(f"api: {type(failure).__name__}") from None
        emails = response.json() if response.status_code == 200 else []
        primary = next(
            (
                e
                for e in emails
                if isinstance(e, dict) and e.get("primary") and e.get("verified") is True
            ),
            None,
        )
        return ProviderClaims(
            issuer=self.issuer,
            subject=str(user["id"]),
            email=str(primary["email"]) if primary else None,
            email_verified=primary is not None,
            name=str(user.get("name") or user.get("login") or "")[:100],
        )
