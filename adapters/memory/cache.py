from __future__ import annotations

from adapters.memory.ttl import ExpiringDict
from ports.clock import Clock


class MemoryCache:
    def __init__(self, clock: Clock) -> None:
        self._entries: ExpiringDict[bytes] = ExpiringDict(clock)

    async def get(self, key: str) -> bytes | None:
        return self._entries.get(key)

    async def set(self, key: str, value: bytes, ttl_s: int) -> None:
        self._entries.set(key, value, ttl_s)

    async def delete(self, key: str) -> None:
        self._entries.delete(key)
