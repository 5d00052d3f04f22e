"""Short-lived copies in Redis (`cache:...` keys, named by the caller), one command each."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.redis.support import as_bytes, positive_ttl, reachable

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from adapters.lifecycle import ManagedClient


class RedisCache:
    def __init__(self, client: ManagedClient[Redis]) -> None:
        self._client = client

    async def get(self, key: str) -> bytes | None:
        async with reachable():
            redis = await self._client.get()
            value = await redis.get(key)
        return None if value is None else as_bytes(value)

    async def set(self, key: str, value: bytes, ttl_s: int) -> None:
        ttl = positive_ttl(ttl_s)
        async with reachable():
            redis = await self._client.get()
            await redis.set(key, value, ex=ttl)

    async def delete(self, key: str) -> None:
        async with reachable():
            redis = await self._client.get()
            await redis.delete(key)
