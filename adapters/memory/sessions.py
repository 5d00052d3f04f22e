from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

from domain.auth.model import SessionFamily
from ports.clock import Clock


class MemorySessionRepository:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._families: dict[str, SessionFamily] = {}

    async def add(self, family: SessionFamily) -> None:
        self._families[family.id] = family

    async def get(self, family_id: str) -> SessionFamily | None:
        family = self._families.get(family_id)
        if family is not None and family.expires_at <= self._clock.now():
            del self._families[family_id]
            return None
        return family

    async def advance(
        self,
        family_id: str,
        from_generation: int,
        current_hash: str,
        rotated_at: datetime,
        expires_at: datetime,
    ) -> bool:
        family = await self.get(family_id)
        if family is None or family.generation != from_generation:
            return False
        self._families[family_id] = replace(
            family,
            generation=from_generation + 1,
            previous_hash=family.current_hash,
            current_hash=current_hash,
            rotated_at=rotated_at,
            expires_at=expires_at,
        )
        return True

    async def take_grace(self, family_id: str, generation: int) -> bool:
        family = await self.get(family_id)
        if family is None or family.generation != generation:
            return False
        if family.grace_generation == generation:
            return False
        self._families[family_id] = replace(family, grace_generation=generation)
        return True

    async def for_user(self, user_id: str) -> list[SessionFamily]:
        now = self._clock.now()
        return [f for f in self._families.values() if f.user_id == user_id and f.expires_at > now]

    async def revoke(self, family_id: str) -> None:
        self._families.pop(family_id, None)

    async def revoke_all(self, user_id: str) -> list[str]:
        doomed = [f.id for f in self._families.values() if f.user_id == user_id]
        for family_id in doomed:
            del self._families[family_id]
        return doomed

    async def count_by_user(self, user_ids: Collection[str]) -> dict[str, int]:
        now = self._clock.now()
        counts = dict.fromkeys(user_ids, 0)
        for family in self._families.values():
            if family.user_id in counts and family.expires_at > now:
                counts[family.user_id] += 1
        return counts
