"""The adapters' Redis client (adapters/redis/client.py) against a real Redis."""

import asyncio

import pytest

from adapters.redis.client import MAX_CONNECTIONS, redis_client

pytestmark = pytest.mark.integration


async def test_a_burst_beyond_the_pool_waits_for_connections_instead_of_failing(
    redis_url: str,
) -> None:
    # A flood of Socket.IO events from one client ran ~900 commands at once; redis-py's default
    # pool raised "Too many connections" from the 101st, failing every user's commands.
    managed = redis_client(redis_url, timeout_s=5.0)
    client = await managed.get()
    try:
        burst = 10 * MAX_CONNECTIONS
        answers = await asyncio.gather(*(client.ping() for _ in range(burst)))

        assert answers == [True] * burst
        pool = client.connection_pool
        assert len(pool._available_connections) + len(pool._in_use_connections) <= MAX_CONNECTIONS
    finally:
        await managed.aclose()
