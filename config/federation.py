"""Which sign-in providers are on (a client id configured), and which front-end URLs a sign-in
may return to (README "Sign in with a provider")."""

from __future__ import annotations

from urllib.parse import urlsplit

from config.settings import Settings
from ports.federation import IdentityProvider

GOOGLE_ISSUER = "https://accounts.google.com"
LOOPBACK = frozenset({"localhost", "127.0.0.1", "[::1]"})


def identity_providers(s: Settings) -> dict[str, IdentityProvider]:
    """The providers with a client id. Authlib, joserfc and httpx (~140 ms to import) load
    only here, when the sign-in service is first used, and only with a provider configured."""
    found: dict[str, IdentityProvider] = {}
    if not (s.google_client_id or s.github_client_id or (s.oidc_issuer and s.oidc_client_id)):
        return found
    from adapters.authlib.providers import GitHubProvider, OpenIdProvider

    if s.google_client_id:
        found["google"] = OpenIdProvider(
            "google", GOOGLE_ISSUER, s.google_client_id, s.google_client_secret or ""
        )
    if s.github_client_id:
        found["github"] = GitHubProvider(s.github_client_id, s.github_client_secret or "")
    if s.oidc_issuer and s.oidc_client_id:
        found[s.oidc_name] = OpenIdProvider(
            s.oidc_name, s.oidc_issuer, s.oidc_client_id, s.oidc_client_secret or ""
        )
    return found


def redirect_check(s: Settings) -> RedirectAllowList:
    return RedirectAllowList(s)


class RedirectAllowList:
    """A front-end URL a sign-in may return to: its origin (scheme, host and port, exactly) is
    one of `CORS_ORIGINS`' exact origins or patterns; the path is free (each front end routes
    its own callback page). `*` allows only loopback front ends: a wildcard would send the
    exchange code to any site."""

    def __init__(self, s: Settings) -> None:
        self._origins = s.origins

    def __call__(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
            return False
        if parts.password is not None or "\\" in url or any(c.isspace() for c in url):
            return False
        origin = f"{parts.scheme}://{parts.netloc}"
        policy = self._origins
        if origin in policy.exact or any(p.match(origin) for p in policy.patterns):
            return True
        host = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
        return policy.anything and host.lower() in LOOPBACK
