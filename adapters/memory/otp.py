from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import replace

from adapters.memory.ttl import ExpiringDict
from domain.auth.model import CodeCheck, CodeLimits, CodeVerdict, OtpPurpose, PendingCode
from ports.clock import Clock

HOUR_S = 3600


class MemoryOtpStore:
    def __init__(self, clock: Clock) -> None:
        self._codes: ExpiringDict[PendingCode] = ExpiringDict(clock)
        self._grants: ExpiringDict[str] = ExpiringDict(clock)
        self._wrong: ExpiringDict[int] = ExpiringDict(clock)

    async def put(self, user_id: str, purpose: OtpPurpose, code_hash: str, ttl_s: int) -> None:
        self._codes.set(f"{user_id}:{purpose}", PendingCode(purpose, code_hash, 0), ttl_s)

    async def get(self, user_id: str, purpose: OtpPurpose) -> PendingCode | None:
        return self._codes.get(f"{user_id}:{purpose}")

    async def attempt(
        self,
        user_id: str,
        purpose: OtpPurpose,
        code_hash: str,
        *,
        client: str,
        limits: CodeLimits,
    ) -> CodeCheck:
        # No await inside: atomic on the event loop, as the Redis script is on the server.
        counters = (
            (user_id, limits.wrong_per_hour),
            (f"{user_id}|{client}", limits.wrong_per_client_hour),
        )
        for counter, limit in counters:
            if (self._wrong.get(counter) or 0) >= limit:
                return CodeCheck(CodeVerdict.LOCKED, self._wrong.ttl(counter))
        key = f"{user_id}:{purpose}"
        code = self._codes.get(key)
        if code is not None and hmac.compare_digest(code.code_hash, code_hash):
            self._codes.delete(key)
            return CodeCheck(CodeVerdict.ACCEPTED)
        if code is not None:
            if code.attempts + 1 >= limits.tries_per_code:
                self._codes.delete(key)
            else:
                self._codes.replace(key, replace(code, attempts=code.attempts + 1))
        for counter, _ in counters:
            wrong = self._wrong.get(counter)
            if wrong is None:
                self._wrong.set(counter, 1, HOUR_S)
            else:
                self._wrong.replace(counter, wrong + 1)
        return CodeCheck(CodeVerdict.WRONG)

    async def judge(
        self, user_id: str, *, correct: bool, client: str, limits: CodeLimits
    ) -> CodeCheck:
        # No await inside: atomic on the event loop, as the Redis script is on the server.
        counters = (
            (f"mfa:{user_id}", limits.wrong_per_hour),
            (f"mfa:{user_id}|{client}", limits.wrong_per_client_hour),
        )
        for counter, limit in counters:
            if (self._wrong.get(counter) or 0) >= limit:
                return CodeCheck(CodeVerdict.LOCKED, self._wrong.ttl(counter))
        if correct:
            return CodeCheck(CodeVerdict.ACCEPTED)
        self._count_wrong(counter for counter, _ in counters)
        return CodeCheck(CodeVerdict.WRONG)

    def _count_wrong(self, counters: Iterable[str]) -> None:
        for counter in counters:
            wrong = self._wrong.get(counter)
            if wrong is None:
                self._wrong.set(counter, 1, HOUR_S)
            else:
                self._wrong.replace(counter, wrong + 1)

    async def grant_reset(self, user_id: str, grant_id: str, ttl_s: int) -> None:
        self._grants.set(user_id, grant_id, ttl_s)

    async def take_reset(self, user_id: str, grant_id: str) -> bool:
        current = self._grants.get(user_id)
        if current is None or not hmac.compare_digest(current, grant_id):
            return False
        self._grants.delete(user_id)
        return True

    async def forget(self, user_id: str) -> None:
        for purpose in OtpPurpose:
            self._codes.delete(f"{user_id}:{purpose}")
        self._grants.delete(user_id)
        for counter in self._wrong.keys():  # noqa: SIM118 (an ExpiringDict: no iteration)
            subject = counter.removeprefix("mfa:")
            if subject == user_id or subject.startswith(f"{user_id}|"):
                self._wrong.delete(counter)
