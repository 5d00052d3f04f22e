from __future__ import annotations

from typing import Protocol

from domain.auth.model import CodeCheck, CodeLimits, OtpPurpose, PendingCode


class OtpStore(Protocol):
    """Pending email codes, one per user and purpose (`otp:<userId>:<purpose>`), the hour's
    wrong guesses (per user, and per user and client address), and password-reset grants
    (`session:<userId>:otp`).

    Everything it holds expires by itself.
    """

    async def put(self, user_id: str, purpose: OtpPurpose, code_hash: str, ttl_s: int) -> None:
        """Replace the user's pending code of `purpose` with a fresh one, 0 attempts; the
        codes of other purposes stay."""
        ...

    async def get(self, user_id: str, purpose: OtpPurpose) -> PendingCode | None: ...

    async def attempt(
        self,
        user_id: str,
        purpose: OtpPurpose,
        code_hash: str,
        *,
        client: str,
        limits: CodeLimits,
    ) -> CodeCheck:
        """One guess, evaluated and counted in one atomic step: `LOCKED` (not evaluated) once
        the hour holds `limits.wrong_per_client_hour` wrong guesses for this user from
        `client`, or `limits.wrong_per_hour` from all clients; `ACCEPTED` spends the pending
        code of `purpose` if it is `code_hash`; otherwise `WRONG`, counted against both hours
        and the pending code, which burns at `limits.tries_per_code`."""
        ...

    async def judge(
        self, user_id: str, *, correct: bool, client: str, limits: CodeLimits
    ) -> CodeCheck:
        """A second-factor guess the caller evaluated (`correct`), honoured or refused in one
        atomic step under its own hourly counts (apart from email codes'): `LOCKED` once the
        hour holds `limits.wrong_per_client_hour` wrong guesses for this user from `client`,
        or `limits.wrong_per_hour` from all; else `ACCEPTED` when `correct`, else `WRONG`,
        counted against both hours. So however many guesses run at once, no more than the
        limits are ever answered. `limits.tries_per_code` is not used."""
        ...

    async def grant_reset(self, user_id: str, grant_id: str, ttl_s: int) -> None: ...

    async def take_reset(self, user_id: str, grant_id: str) -> bool:
        """Spend the reset grant atomically if it is `grant_id`: True exactly once."""
        ...

    async def forget(self, user_id: str) -> None:
        """Drop everything held for the user: its pending codes of every purpose, its reset
        grant and its wrong-guess counts, of codes and second factors alike (from every
        client address). Idempotent."""
        ...
