"""Provider identities and the values of a provider sign-in (domain/auth/federation.py)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ProviderIdentity:
    """A provider's account linked to a FlowHub user: (issuer, subject) names it for good;
    the email is the one the provider asserted when it was linked (shown, never trusted)."""

    id: str
    user_id: str
    provider: str
    issuer: str
    subject: str
    email: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ProviderClaims:
    """What a provider asserted, verified: who (issuer, subject) and their address."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A sign-in under way, kept server-side under its `state` until the provider returns."""

    provider: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str  # the front end's, from the allow-list
    link_user_id: str | None = None  # a signed-in user linking a provider

    def dumps(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str) -> AuthorizationRequest:
        return cls(**json.loads(raw))
