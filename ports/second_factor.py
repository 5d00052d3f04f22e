from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.auth.model import SecondFactor


class SecondFactorStore(Protocol):
    """Users' TOTP second factors (MongoDB `second_factors`, one per user, by user id).

    Every method that spends something is one conditional write: of concurrent callers
    spending the same step, recovery code or challenge, exactly one gets True."""

    async def get(self, user_id: str) -> SecondFactor | None: ...

    async def begin(self, factor: SecondFactor) -> bool:
        """Store a pending factor (`enabled` False), replacing a pending one; False (and
        nothing changes) when the user has an enabled factor."""
        ...

    async def enable(
        self, user_id: str, secret: str, recovery_hashes: tuple[str, ...], step: int
    ) -> bool:
        """Enable the pending factor whose secret is `secret`, with its recovery codes and
        `step` spent; False when there is no such pending factor."""
        ...

    async def spend_step(self, user_id: str, step: int, issued_ms: int) -> bool:
        """Spend TOTP `step` (and the challenge issued at `issued_ms`; 0 when there is none):
        True only while the factor is enabled, `step` is after its last spent step and
        `issued_ms` after its last spent challenge."""
        ...

    async def spend_recovery(self, user_id: str, code_hash: str, issued_ms: int) -> bool:
        """Spend one recovery code (and the challenge, as `spend_step`): True only while the
        enabled factor holds `code_hash`, which is then gone."""
        ...

    async def spend_challenge(self, user_id: str, issued_ms: int) -> bool:
        """Spend the challenge issued at `issued_ms` alone (a passkey answered it): True only
        while the factor is enabled and no challenge issued at or after it was spent."""
        ...

    async def replace_recovery(self, user_id: str, recovery_hashes: tuple[str, ...]) -> bool:
        """The enabled factor's recovery codes are these now; False when none is enabled."""
        ...

    async def delete(self, user_id: str) -> None:
        """Remove the user's factor, pending or enabled; idempotent."""
        ...


class TotpCodec(Protocol):
    """RFC 6238 TOTP (30 s steps, 6 digits, SHA-1: what authenticator apps compute)."""

    def new_secret(self) -> str:
        """A fresh base32 secret."""
        ...

    def uri(self, secret: str, account: str, issuer: str) -> str:
        """The `otpauth://totp/...` URI an authenticator app takes (as a QR code)."""
        ...

    def step(self, at: datetime) -> int:
        """The time step `at` falls in."""
        ...

    def code(self, secret: str, step: int) -> str:
        """The code of `step`."""
        ...
