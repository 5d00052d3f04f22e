"""The Redis command meter (adapters/redis/meter.py) against a real redis-server: what it
counts equals what `INFO commandstats` counts for the same run (redis-server counts each
command a Lua script runs, as Upstash bills them), and its flushes cost what the admin
gauge's budget says."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from adapters.lifecycle import ManagedClient
from adapters.memory.clock import MemoryClock
from adapters.redis.client import redis_client
from adapters.redis.meter import FLUSH_EVERY_S, RedisCommandMeter, month_key
from adapters.redis.otp import RedisOtpStore
from adapters.redis.rate_limit import RedisRateLimiter
from adapters.redis.support import LuaScript, counted_source
from domain.auth.model import CodeLimits, OtpPurpose

pytestmark = pytest.mark.contract

type Metered = tuple[ManagedClient[aioredis.Redis], RedisCommandMeter, MemoryClock]
LIMITS = CodeLimits(tries_per_code=3, wrong_per_hour=10, wrong_per_client_hour=5)


async def commandstats(client: aioredis.Redis) -> dict[str, int]:
    """Calls per command, the INFO asking left out (on a connection opened before: a new
    one's handshake would be counted)."""
    stats = await client.info("commandstats")
    calls = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}
    calls.pop("info", None)
    return calls


def diff(before: dict[str, int], after: dict[str, int]) -> int:
    return sum(after.values()) - sum(before.values())


@pytest_asyncio.fixture
async def metered(
    redis_url: str,
) -> AsyncIterator[tuple[ManagedClient[aioredis.Redis], RedisCommandMeter, MemoryClock]]:
    clock = MemoryClock()
    meter = RedisCommandMeter(clock)
    managed = redis_client(redis_url, 2.0, meter)
    try:
        yield managed, meter, clock
    finally:
        await managed.aclose()
        client = aioredis.from_url(redis_url)
        await client.delete(month_key(clock))
        await client.aclose()


async def test_the_meter_counts_what_redis_server_counts_script_commands_included(
    redis_url: str,
    metered: Metered,
) -> None:
    managed, meter, _ = metered
    limiter, otp = RedisRateLimiter(managed), RedisOtpStore(managed)
    await limiter.hit("meter:test:warm", 5, 60)  # the connection opens (CLIENT SETINFO)
    await otp.put("meter-user", OtpPurpose.LOGIN, "hash", 600)  # every script is loaded once
    await otp.attempt("meter-user", OtpPurpose.LOGIN, "x", client="10.0.0.1", limits=LIMITS)
    await limiter.hit_each([("meter:test:a", 3)], 60)
    await limiter.reserve("meter:test:guess", 5, 60, 5)
    await limiter.release("meter:test:guess", succeeded=False)
    plain = aioredis.from_url(redis_url)
    await plain.ping()
    before, counted = await commandstats(plain), meter.total

    for _ in range(7):
        await limiter.hit("meter:test:hit", 5, 60)  # INCR, PTTL, EXPIRE the first time
        await limiter.hit_each([("meter:test:a", 3), ("meter:test:b", 3)], 60)
    reserved = await limiter.reserve("meter:test:guess", 5, 60, 5)
    assert reserved.granted
    await limiter.release("meter:test:guess", succeeded=False)
    await otp.put("meter-user", OtpPurpose.LOGIN, "hash", 600)
    for _ in range(2):
        await otp.attempt("meter-user", OtpPurpose.LOGIN, "other", client="10.0.0.1", limits=LIMITS)
    await otp.forget("meter-user")
    for key in ("meter:test:hit", "meter:test:a", "meter:test:b", "meter:test:guess"):
        await limiter.forget(key)

    sent = meter.total - counted
    seen = diff(before, await commandstats(plain))
    evalshas = 7 * 2 + 1 + 2
    assert sent == seen, (sent, seen)
    assert sent > 2 * evalshas  # the scripts' own commands were counted, not only EVALSHA
    await plain.aclose()


async def test_a_counted_script_answers_what_its_body_returns(
    metered: Metered,
) -> None:
    managed, meter, _ = metered
    client = await managed.get()
    script = LuaScript(
        "if ARGV[1] == 'nil' then redis.call('PING') return nil end\n"
        "return {redis.call('PING'), tonumber(ARGV[1]) + 1, redis.pcall('GET', KEYS[1])}"
    )
    assert "redis.call('PING')" not in counted_source(script.source).split("local __flowhub_a")[1]
    await script(client, ["meter:test:none"], ["nil"])  # loads the script (NOSCRIPT once)
    counted = meter.total
    assert await script(client, ["meter:test:none"], ["nil"]) is None
    assert meter.total - counted == 2  # the EVALSHA and its PING
    assert await script(client, ["meter:test:none"], ["41"]) == [b"PONG", 42, None]
    assert meter.total - counted == 2 + 3


async def test_flushes_go_to_the_months_key_at_most_every_ten_minutes_and_at_close(
    redis_url: str,
    metered: Metered,
) -> None:
    managed, meter, clock = metered
    client = await managed.get()
    plain = aioredis.from_url(redis_url)
    key = month_key(clock)
    try:
        for _ in range(5):
            await client.get("meter:test:nothing")
        assert await plain.get(key) is None  # counted here, nothing flushed yet
        clock.advance(FLUSH_EVERY_S + 1)
        await client.get("meter:test:nothing")  # this count starts the flush
        await meter.flush_done()
        stored = int(await plain.get(key) or 0)
        assert stored >= 6 and stored == meter.total - meter.pending
        assert 0 < await plain.ttl(key) <= 100 * 86400  # the month's first flush: EXPIRE
        own = meter.pending  # INCRBY, EXPIRE, maybe a new connection's handshake
        assert own >= 2
        # idle: only the last flush's own commands to tell, so nothing is sent
        clock.advance(FLUSH_EVERY_S + 1)
        before = await commandstats(plain)
        await meter.flush()
        assert diff(before, await commandstats(plain)) == 0
        # the month's figure: the key plus this instance's pending (its own GET included)
        assert await meter.this_month() == stored + own + 1
        await managed.aclose()  # the shutdown flush
        assert int(await plain.get(key) or 0) == meter.total - 1  # all but that INCRBY
    finally:
        await plain.aclose()
