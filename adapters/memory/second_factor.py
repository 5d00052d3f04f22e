from __future__ import annotations

from dataclasses import replace

from domain.auth.model import SecondFactor


class MemorySecondFactorStore:
    """No await inside a method: each is atomic on the event loop, as MongoDB's conditional
    updates are."""

    def __init__(self) -> None:
        self._factors: dict[str, SecondFactor] = {}

    async def get(self, user_id: str) -> SecondFactor | None:
        return self._factors.get(user_id)

    async def begin(self, factor: SecondFactor) -> bool:
        current = self._factors.get(factor.user_id)
        if current is not None and current.enabled:
            return False
        self._factors[factor.user_id] = replace(factor, enabled=False)
        return True

    async def enable(
        self, user_id: str, secret: str, recovery_hashes: tuple[str, ...], step: int
    ) -> bool:
        current = self._factors.get(user_id)
        if current is None or current.enabled or current.secret != secret:
            return False
        self._factors[user_id] = replace(
            current, enabled=True, recovery_hashes=recovery_hashes, last_step=step
        )
        return True

    async def spend_step(self, user_id: str, step: int, issued_ms: int) -> bool:
        current = self._usable(user_id, issued_ms)
        if current is None or step <= current.last_step:
            return False
        self._factors[user_id] = replace(
            current, last_step=step, spent_before_ms=max(current.spent_before_ms, issued_ms)
        )
        return True

    async def spend_recovery(self, user_id: str, code_hash: str, issued_ms: int) -> bool:
        current = self._usable(user_id, issued_ms)
        if current is None or code_hash not in current.recovery_hashes:
            return False
        left = tuple(h for h in current.recovery_hashes if h != code_hash)
        spent = max(current.spent_before_ms, issued_ms)
        self._factors[user_id] = replace(current, recovery_hashes=left, spent_before_ms=spent)
        return True

    async def spend_challenge(self, user_id: str, issued_ms: int) -> bool:
        current = self._usable(user_id, issued_ms)
        if current is None or issued_ms <= 0:
            return False
        self._factors[user_id] = replace(current, spent_before_ms=issued_ms)
        return True

    async def replace_recovery(self, user_id: str, recovery_hashes: tuple[str, ...]) -> bool:
        current = self._factors.get(user_id)
        if current is None or not current.enabled:
            return False
        self._factors[user_id] = replace(current, recovery_hashes=recovery_hashes)
        return True

    async def delete(self, user_id: str) -> None:
        self._factors.pop(user_id, None)

    def _usable(self, user_id: str, issued_ms: int) -> SecondFactor | None:
        current = self._factors.get(user_id)
        if current is None or not current.enabled:
            return None
        if issued_ms and issued_ms <= current.spent_before_ms:
            return None
        return current
