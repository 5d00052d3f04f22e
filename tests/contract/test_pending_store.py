"""The PendingStore contract (a sign-in's state, an exchange code), held by the memory
adapter and by Redis alike."""

from __future__ import annotations

import asyncio

import pytest

from adapters.memory.clock import MemoryClock
from adapters.memory.identities import MemoryPendingStore
from adapters.redis.pending import RedisPendingStore
from ports.federation import PendingStore
from tests.contract.conftest import Backend, make_backend

pytestmark = pytest.mark.contract


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest, clock: MemoryClock) -> Backend:
    return make_backend(request, clock)


@pytest.fixture
def store(backend: Backend) -> PendingStore:
    if backend.redis is not None:
        return RedisPendingStore(backend.redis.managed)
    return MemoryPendingStore(backend.clock)


async def test_a_value_is_taken_once(store: PendingStore) -> None:
    assert await store.take("oauth:state:s1") is None
    await store.put("oauth:state:s1", '{"provider":"google"}', 60)
    assert await store.take("oauth:state:s1") == '{"provider":"google"}'
    assert await store.take("oauth:state:s1") is None


async def test_concurrent_takers_get_it_once(store: PendingStore) -> None:
    await store.put("oauth:exchange:c1", "u1 google", 60)
    taken = await asyncio.gather(*(store.take("oauth:exchange:c1") for _ in range(8)))
    assert taken.count("u1 google") == 1 and taken.count(None) == 7


async def test_a_value_expires(store: PendingStore, backend: Backend) -> None:
    await store.put("oauth:state:s2", "v", 1)
    await backend.pass_time(1.2)
    assert await store.take("oauth:state:s2") is None
