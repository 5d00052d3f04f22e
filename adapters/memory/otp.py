from __future__ import annotations

import hmac
from dataclasses import replace

from adapters.memory.ttl import ExpiringDict
from domain.auth.model import CodeCheck, CodeVerdict, OtpPurpose, PendingCode
from ports.clock import Clock


class MemoryOtpStore:
    def __init__(self, clock: Clock) -> None:
        self._codes: ExpiringDict[PendingCode] = ExpiringDict(clock)
        self._grants: ExpiringDict[str] = ExpiringDict(clock)
        self._failures: ExpiringDict[int] = ExpiringDict(clock)

    async def put(self, user_id: str, purpose: OtpPurpose, code_hash: str, ttl_s: int) -> None:
        self._codes.set(user_id, PendingCode(purpose, code_hash, 0), ttl_s)

    async def get(self, user_id: str) -> PendingCode | None:
        return self._codes.get(user_id)

    async def fail(self, user_id: str, max_attempts: int) -> int:
        code = self._codes.get(user_id)
        if code is None:
            return 0
        attempts = code.attempts + 1
        if attempts >= max_attempts:
            self._codes.delete(user_id)
        else:
            self._codes.replace(user_id, replace(code, attempts=attempts))
        return attempts

    async def consume(self, user_id: str, code_hash: str) -> bool:
        code = self._codes.get(user_id)
        if code is None or not hmac.compare_digest(code.code_hash, code_hash):
            return False
        self._codes.delete(user_id)
        return True

    async def attempt(
        self, user_id: str, code_hash: str, max_attempts: int, failures_per_hour: int
    ) -> CodeCheck:
        # No await inside: atomic on the event loop, as the Redis script is on the server.
        failures = self._failures.get(user_id) or 0
        if failures >= failures_per_hour:
            return CodeCheck(CodeVerdict.LOCKED, self._failures.ttl(user_id))
        code = self._codes.get(user_id)
        if code is not None and hmac.compare_digest(code.code_hash, code_hash):
            self._codes.delete(user_id)
            return CodeCheck(CodeVerdict.ACCEPTED)
        if code is not None:
            if code.attempts + 1 >= max_attempts:
                self._codes.delete(user_id)
            else:
                self._codes.replace(user_id, replace(code, attempts=code.attempts + 1))
        if failures == 0:
            self._failures.set(user_id, 1, 3600)
        else:
            self._failures.replace(user_id, failures + 1)
        return CodeCheck(CodeVerdict.WRONG)

    async def grant_reset(self, user_id: str, grant_id: str, ttl_s: int) -> None:
        self._grants.set(user_id, grant_id, ttl_s)

    async def take_reset(self, user_id: str, grant_id: str) -> bool:
        current = self._grants.get(user_id)
        if current is None or not hmac.compare_digest(current, grant_id):
            return False
        self._grants.delete(user_id)
        return True
