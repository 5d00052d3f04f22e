"""The Cache contract, held by the memory adapter and by Redis alike."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from adapters.lifecycle import ManagedClient
from adapters.memory.cache import MemoryCache
from adapters.memory.clock import MemoryClock
from adapters.redis.cache import RedisCache
from domain.errors import ServiceUnavailable
from ports.cache import Cache
from tests.contract.conftest import Backend, RedisService, make_backend

if TYPE_CHECKING:
    from redis.asyncio import Redis

pytestmark = pytest.mark.contract

KEY = "cache:user:u1"


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest, clock: MemoryClock) -> Backend:
    return make_backend(request, clock)


@pytest.fixture
def cache(backend: Backend) -> Cache:
    if backend.redis is not None:
        return RedisCache(backend.redis.managed)
    return MemoryCache(backend.clock)


async def test_a_miss_is_none(cache: Cache) -> None:
    assert await cache.get(KEY) is None


async def test_a_stored_value_reads_back_byte_for_byte(cache: Cache) -> None:
    value = b'{"name": "Zo\xc3\xab"}\x00\xff\xfe not utf-8 at the end'

    await cache.set(KEY, value, 300)

    assert await cache.get(KEY) == value


async def test_an_empty_value_is_a_hit_not_a_miss(cache: Cache) -> None:
    await cache.set(KEY, b"", 300)

    assert await cache.get(KEY) == b""


async def test_set_overwrites(cache: Cache) -> None:
    await cache.set(KEY, b"old", 300)
    await cache.set(KEY, b"new", 300)

    assert await cache.get(KEY) == b"new"


async def test_delete_removes_only_that_entry(cache: Cache) -> None:
    await cache.set(KEY, b"one", 300)
    await cache.set("cache:user:u2", b"two", 300)

    await cache.delete(KEY)

    assert await cache.get(KEY) is None
    assert await cache.get("cache:user:u2") == b"two"
    await cache.delete("cache:user:never-set")


async def test_an_entry_expires_with_its_ttl(cache: Cache, backend: Backend) -> None:
    await cache.set(KEY, b"v", 1)
    await backend.pass_time(0.5)
    assert await cache.get(KEY) == b"v"

    await backend.pass_time(0.6)

    assert await cache.get(KEY) is None


# Redis --------------------------------------------------------------------------------------


async def test_redis_every_key_written_has_a_ttl(redis_service: RedisService) -> None:
    cache, raw = RedisCache(redis_service.managed), redis_service.raw
    await cache.set("cache:user:u1", b"a", 300)
    await cache.set("cache:user:u1", b"b", 300)
    await cache.set("cache:user:u2", b"c", 20)
    await cache.set("cache:user:u3", b"d", 300)
    await cache.delete("cache:user:u3")
    await cache.get("cache:user:u4")

    keys = await redis_service.keys()

    assert sorted(keys) == [b"cache:user:u1", b"cache:user:u2"]
    assert 295 <= await raw.ttl("cache:user:u1") <= 300
    assert 15 <= await raw.ttl("cache:user:u2") <= 20


async def test_redis_down_is_service_unavailable(dead_redis: ManagedClient[Redis]) -> None:
    cache = RedisCache(dead_redis)
    calls = [cache.get(KEY), cache.set(KEY, b"v", 300), cache.delete(KEY)]

    results = await asyncio.gather(*calls, return_exceptions=True)

    assert all(isinstance(result, ServiceUnavailable) for result in results), results
