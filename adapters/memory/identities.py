from __future__ import annotations

from adapters.memory.ttl import ExpiringDict
from domain.auth.identities import ProviderIdentity
from ports.clock import Clock


class MemoryIdentityStore:
    """No await inside a method: each is atomic on the event loop, as MongoDB's writes are."""

    def __init__(self) -> None:
        self._by_id: dict[str, ProviderIdentity] = {}

    async def add(self, identity: ProviderIdentity) -> bool:
        if await self.by_subject(identity.issuer, identity.subject) is not None:
            return False
        self._by_id[identity.id] = identity
        return True

    async def by_subject(self, issuer: str, subject: str) -> ProviderIdentity | None:
        return next(
            (i for i in self._by_id.values() if (i.issuer, i.subject) == (issuer, subject)), None
        )

    async def for_user(self, user_id: str) -> list[ProviderIdentity]:
        return [i for i in self._by_id.values() if i.user_id == user_id]

    async def remove(self, user_id: str, identity_id: str) -> bool:
        identity = self._by_id.get(identity_id)
        if identity is None or identity.user_id != user_id:
            return False
        del self._by_id[identity_id]
        return True


class MemoryPendingStore:
    def __init__(self, clock: Clock) -> None:
        self._items: ExpiringDict[str] = ExpiringDict(clock)

    async def put(self, key: str, value: str, ttl_s: int) -> None:
        self._items.set(key, value, ttl_s)

    async def take(self, key: str) -> str | None:
        value = self._items.get(key)
        self._items.delete(key)
        return value
