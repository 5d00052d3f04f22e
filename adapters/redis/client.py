from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.lifecycle import ManagedClient

if TYPE_CHECKING:
    from redis.asyncio import Redis


def redis_client(url: str, timeout_s: float) -> ManagedClient[Redis]:
    """A redis-py asyncio client with bounded timeouts; it reconnects by itself after a restart."""

    async def open_client() -> Redis:
        from redis.asyncio import Redis
        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry

        return Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=30,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=1),
            decode_responses=False,
        )

    async def close_client(client: Redis) -> None:
        await client.aclose()

    return ManagedClient("redis", open_client, close_client)


class RedisProbe:
    name = "redis"
    adapter = "redis"

    def __init__(self, client: ManagedClient[Redis]) -> None:
        self._client = client

    async def check(self) -> None:
        client = await self._client.get()
        await client.ping()
