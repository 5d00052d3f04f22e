"""Passkeys (WebAuthn credentials): the stored credential and what the ceremonies exchange.

A user may hold several (`PASSKEYS_MAX`), each named. The server keeps the credential's id and
public key (COSE, as the authenticator gave it), its signature counter, and the issue time of
the last challenge it answered (`spent_before_ms`): a challenge issued at or before it is spent
for that credential, which makes a replayed assertion fail even on authenticators whose counter
stays 0 (synced passkeys)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

PASSKEYS_MAX = 20  # per user: each costs a document and a line in every registration's options
PASSKEY_NAME_MAX = 64


class Ceremony(StrEnum):
    """What a WebAuthn challenge was issued for: it answers no other ceremony."""

    REGISTER = "register"
    LOGIN = "login"
    MFA = "mfa"  # completing a login's second-factor challenge
    DELETE_ACCOUNT = "delete_account"  # confirming `DELETE /users/me`, bound to the user


@dataclass(frozen=True, slots=True)
class Passkey:
    id: str  # the server's own id (routes name it), not the credential id
    user_id: str
    credential_id: str  # base64url, as the browser names it
    public_key: bytes  # COSE_Key
    sign_count: int
    transports: tuple[str, ...]
    name: str
    created_at: datetime
    last_used_at: datetime | None = None
    spent_before_ms: int = 0


@dataclass(frozen=True, slots=True)
class RelyingParty:
    """Who the passkeys are for: the RP ID (a registrable domain the front ends are under) and
    the front ends' exact origins, which an answer's client data must name one of."""

    id: str
    name: str
    origins: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NewCredential:
    """A registration response the library verified."""

    credential_id: str
    public_key: bytes
    sign_count: int
    user_verified: bool


@dataclass(frozen=True, slots=True)
class Assertion:
    """What an authentication response says before it is verified (to find its credential and
    its challenge)."""

    credential_id: str
    challenge: bytes
    user_handle: str | None


@dataclass(frozen=True, slots=True)
class VerifiedAssertion:
    sign_count: int
    user_verified: bool


@dataclass(frozen=True, slots=True)
class CeremonyOptions:
    """The options for `navigator.credentials.create()`/`.get()`, as the JSON the browser's
    `PublicKeyCredential.parse*OptionsFromJSON` takes; `expires_in` is the challenge's life."""

    options: dict[str, object]
    expires_in: int
