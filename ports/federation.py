"""Sign-in through OAuth 2.0 / OpenID providers (domain/auth/federation.py)."""

from __future__ import annotations

from typing import Protocol

from domain.auth.identities import AuthorizationRequest, ProviderClaims, ProviderIdentity


class IdentityStore(Protocol):
    """Provider identities linked to users (MongoDB `identities`), unique by (issuer, subject)."""

    async def add(self, identity: ProviderIdentity) -> bool:
        """Link `identity`; False (nothing changes) when its (issuer, subject) is linked."""
        ...

    async def by_subject(self, issuer: str, subject: str) -> ProviderIdentity | None: ...

    async def for_user(self, user_id: str) -> list[ProviderIdentity]:
        """The user's identities (any order)."""
        ...

    async def remove(self, user_id: str, identity_id: str) -> bool:
        """Unlink one of the user's identities: False when the user has no such identity."""
        ...


class PendingStore(Protocol):
    """Short-lived one-time values (a sign-in's state, an exchange code): Redis with a TTL,
    one command to put and one to take (GETDEL)."""

    async def put(self, key: str, value: str, ttl_s: int) -> None: ...

    async def take(self, key: str) -> str | None:
        """The value, removed in the same step: of concurrent takers exactly one gets it."""
        ...


class ProviderError(Exception):
    """A provider refused or answered something unusable: its details are logged, never sent
    to a client."""


class IdentityProvider(Protocol):
    """One configured provider (OpenID Connect by discovery, or GitHub's OAuth 2.0)."""

    name: str
    issuer: str

    async def authorize_url(self, request: AuthorizationRequest, callback_url: str) -> str:
        """Where the browser goes to sign in: code flow with PKCE (S256), `state`, `nonce`."""
        ...

    async def claims(
        self, code: str, request: AuthorizationRequest, callback_url: str
    ) -> ProviderClaims:
        """Exchange the code and verify what the provider asserts (for OpenID Connect the ID
        token: signature by the provider's JWKS with pinned algorithms, iss, aud, exp, nonce);
        `ProviderError` otherwise."""
        ...
