from __future__ import annotations

from typing import Protocol

from domain.auth.model import CodeCheck, OtpPurpose, PendingCode


class OtpStore(Protocol):
    """Pending email codes (`otp:<userId>`), the hourly count of wrong guesses, and password-reset
    grants (`session:<userId>:otp`).

    Everything it holds expires by itself.
    """

    async def put(self, user_id: str, purpose: OtpPurpose, code_hash: str, ttl_s: int) -> None:
        """Replace the user's pending code (one at a time) with a fresh one, 0 attempts."""
        ...

    async def get(self, user_id: str) -> PendingCode | None: ...

    async def fail(self, user_id: str, max_attempts: int) -> int:
        """Count a wrong try atomically and return the attempts so far; at `max_attempts`
        the code is burned (deleted). 0 when there was no pending code."""
        ...

    async def consume(self, user_id: str, code_hash: str) -> bool:
        """Delete the pending code atomically if it is `code_hash`: True exactly once."""
        ...

    async def attempt(
        self, user_id: str, code_hash: str, max_attempts: int, failures_per_hour: int
    ) -> CodeCheck:
        """One guess, evaluated and counted in one atomic step: `LOCKED` (not evaluated) once
        the user's hour holds `failures_per_hour` wrong guesses; `ACCEPTED` spends the pending
        code if it is `code_hash`; otherwise `WRONG`, counted against the hour and against
        the pending code, which burns at `max_attempts`."""
        ...

    async def grant_reset(self, user_id: str, grant_id: str, ttl_s: int) -> None: ...

    async def take_reset(self, user_id: str, grant_id: str) -> bool:
        """Spend the reset grant atomically if it is `grant_id`: True exactly once."""
        ...
