from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.auth.passkey import (
    Assertion,
    NewCredential,
    Passkey,
    RelyingParty,
    VerifiedAssertion,
)


class PasskeyStore(Protocol):
    """Users' passkeys (MongoDB `passkeys`; `credential_id` unique across all users)."""

    async def add(self, passkey: Passkey) -> bool:
        """Store it; False when its credential id is stored already (any user's)."""
        ...

    async def by_credential(self, credential_id: str) -> Passkey | None: ...

    async def for_user(self, user_id: str) -> list[Passkey]:
        """The user's passkeys, oldest first."""
        ...

    async def rename(self, user_id: str, passkey_id: str, name: str) -> Passkey | None:
        """The renamed passkey; None when the user has no passkey of that id."""
        ...

    async def delete(self, user_id: str, passkey_id: str) -> bool:
        """False when the user has no passkey of that id."""
        ...

    async def delete_all(self, user_id: str) -> None: ...

    async def use(self, passkey_id: str, sign_count: int, issued_ms: int, at: datetime) -> bool:
        """Record an assertion, in one conditional write: True only while the stored counter is
        below `sign_count` (or both are 0) and no challenge issued at or after `issued_ms` was
        spent; of concurrent uses of the same assertion, exactly one gets True."""
        ...


class WebAuthnVerifier(Protocol):
    """The WebAuthn ceremonies' wire formats and checks (the `webauthn` library): options in,
    verified credentials and assertions out. Every failed check raises `InvalidPasskey`."""

    def registration_options(
        self,
        rp: RelyingParty,
        *,
        user_id: str,
        user_name: str,
        display_name: str,
        challenge: bytes,
        exclude: list[Passkey],
        timeout_ms: int,
    ) -> dict[str, object]: ...

    def authentication_options(
        self,
        rp: RelyingParty,
        *,
        challenge: bytes,
        allow: list[Passkey],
        timeout_ms: int,
        require_user_verification: bool = False,
    ) -> dict[str, object]:
        """User verification is asked `preferred`, or `required` when the caller will refuse an
        answer without it."""
        ...

    def registration_challenge(self, credential: dict[str, object]) -> bytes:
        """The challenge a registration response's client data names (unverified)."""
        ...

    def verify_registration(
        self, rp: RelyingParty, credential: dict[str, object], challenge: bytes
    ) -> NewCredential: ...

    def transports(self, credential: dict[str, object]) -> tuple[str, ...]: ...

    def assertion(self, credential: dict[str, object]) -> Assertion:
        """The credential id, challenge and user handle an authentication response names
        (unverified)."""
        ...

    def verify_assertion(
        self, rp: RelyingParty, credential: dict[str, object], challenge: bytes, passkey: Passkey
    ) -> VerifiedAssertion:
        """Origin, RP ID, challenge, user presence and the signature; the counter is the
        caller's to judge (`sign_count` as the authenticator reported it)."""
        ...
