"""UsageDays on memory and MongoDB: per-day counters that concurrent flushes add to."""

from __future__ import annotations

import asyncio

import pytest

from adapters.memory.clock import MemoryClock
from adapters.memory.usage_days import MemoryUsageDays
from adapters.mongo.usage_days import MongoUsageDays
from ports.gauges import UsageDays
from tests.contract.conftest import Backend, MongoService, make_backend

pytestmark = pytest.mark.contract


@pytest.fixture(params=["memory", "mongo"])
def mongo_backend(request: pytest.FixtureRequest, clock: MemoryClock) -> Backend:
    return make_backend(request, clock)


@pytest.fixture
def store(mongo_backend: Backend) -> UsageDays:
    if mongo_backend.mongo is not None:
        return MongoUsageDays(mongo_backend.mongo.managed, mongo_backend.mongo.database)
    return MemoryUsageDays()


async def test_a_day_never_added_to_reads_zero(store: UsageDays) -> None:
    assert await store.log_bytes("2026-12-04") == 0


async def test_concurrent_adds_all_land_on_their_own_day(store: UsageDays) -> None:
    await asyncio.gather(*(store.add_log_bytes("2026-12-04", 1000 + i) for i in range(20)))
    await store.add_log_bytes("2026-12-03", 7)
    assert await store.log_bytes("2026-12-04") == 20 * 1000 + sum(range(20))
    assert await store.log_bytes("2026-12-03") == 7
    assert await store.log_bytes("2026-12-05") == 0


async def test_counts_beyond_32_bits_add_up(store: UsageDays) -> None:
    await store.add_log_bytes("2026-12-04", 3 * 10**9)
    await store.add_log_bytes("2026-12-04", 3 * 10**9)
    assert await store.log_bytes("2026-12-04") == 6 * 10**9


async def test_the_mongo_document_is_one_small_counter_per_day(mongo_service: MongoService) -> None:
    store = MongoUsageDays(mongo_service.managed, mongo_service.database)
    for _ in range(3):
        await store.add_log_bytes("2026-12-04", 12_345)
    client = await mongo_service.managed.get()
    documents = [d async for d in client[mongo_service.database]["usage_days"].find({})]
    assert documents == [{"_id": "2026-12-04", "log_bytes": 37_035}]
