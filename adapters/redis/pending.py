"""One-time values with a TTL in Redis (`oauth:state:*`, `oauth:exchange:*`): one SET to put,
one GETDEL to take (Redis 6.2+), so of concurrent takers exactly one gets the value."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.redis.support import as_bytes, positive_ttl, reachable

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from adapters.lifecycle import ManagedClient


class RedisPendingStore:
    def __init__(self, client: ManagedClient[Redis]) -> None:
        self._client = client

    async def put(self, key: str, value: str, ttl_s: int) -> None:
        ttl = positive_ttl(ttl_s)
        async with reachable():
            redis = await self._client.get()
            await redis.set(key, value.encode(), ex=ttl)

    async def take(self, key: str) -> str | None:
        async with reachable():
            redis = await self._client.get()
            value = await redis.getdel(key)
        return None if value is None else as_bytes(value).decode()
