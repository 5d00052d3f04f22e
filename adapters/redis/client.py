from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.lifecycle import ManagedClient

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from adapters.redis.meter import RedisCommandMeter


# Connections one process opens to Redis at most. Past it a command waits for a free one (up to
# the command timeout, then ServiceUnavailable) instead of failing at once: redis-py's default
# pool raises "Too many connections" at its 100th concurrent command, which a flood of Socket.IO
# events from one client reached (tests/fuzz/test_realtime_hostile.py), failing everyone's
# commands. 32 is far above what one shared CPU keeps busy (a command takes ~0.2 ms) and well
# inside Upstash's connection limits.
MAX_CONNECTIONS = 32


def redis_client(
    url: str, timeout_s: float, meter: RedisCommandMeter | None = None
) -> ManagedClient[Redis]:
    """A redis-py asyncio client with bounded timeouts and a bounded, waiting connection pool;
    it reconnects by itself after a restart. With `meter`, every command it sends is counted
    (adapters/redis/meter.py)."""

    async def open_client() -> Redis:
        from redis.asyncio import BlockingConnectionPool, Redis
        from redis.backoff import ExponentialBackoff
        from redis.maint_notifications import MaintNotificationsConfig
        from redis.retry import Retry

        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            timeout=timeout_s,  # waiting for a free connection
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            # No health-check PING before a command on a connection idle 30 s: Upstash bills
            # it, and it doubled the commands of a quiet instance. A connection found dead
            # fails that command, which the retry repeats on a new one.
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=1),
            decode_responses=False,
            # no CLIENT SETINFO on each new connection: two billed commands that tell Redis
            # the driver's name and version, which nothing here reads
            driver_info=None,
            # nor CLIENT MAINT_NOTIFICATIONS (redis-py's handshake for a managed cluster's
            # maintenance pushes): one more billed command per connection, for a feature of
            # Redis Cloud's that Upstash does not send
            maint_notifications_config=MaintNotificationsConfig(enabled=False),
        )
        if meter is not None:
            from adapters.redis.meter import counting

            pool.connection_class = counting(pool.connection_class, meter)
        client = Redis.from_pool(pool)  # the client owns the pool: aclose() closes it
        if meter is not None:
            meter.bind(client)
        return client

    async def close_client(client: Redis) -> None:
        if meter is not None:  # what this instance counted since the last flush
            await meter.flush_done()
            await meter.flush()
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
