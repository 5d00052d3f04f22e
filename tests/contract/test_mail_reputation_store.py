"""MailReputationStore on memory and MongoDB: the suppression list and the daily counters."""

from __future__ import annotations

import asyncio

import pytest

from adapters.memory.clock import MemoryClock
from adapters.memory.reputation import MemoryMailReputation
from adapters.mongo.reputation import MongoMailReputation
from domain.auth.secrets import Keyring
from domain.mail.model import MailDay, MailOutcome, SuppressionReason
from domain.mail.reputation import MailReputation
from ports.mail import MailReputationStore
from tests.contract.conftest import Backend, make_backend

pytestmark = pytest.mark.contract


@pytest.fixture(params=["memory", "mongo"])
def mongo_backend(request: pytest.FixtureRequest, clock: MemoryClock) -> Backend:
    return make_backend(request, clock)


@pytest.fixture
def store(mongo_backend: Backend) -> MailReputationStore:
    if mongo_backend.mongo is not None:
        return MongoMailReputation(mongo_backend.mongo.managed, mongo_backend.mongo.database)
    return MemoryMailReputation()


async def test_suppression_is_idempotent_and_by_key(store: MailReputationStore) -> None:
    clock = MemoryClock()
    assert not await store.is_suppressed("k1")
    assert await store.suppress("k1", SuppressionReason.BOUNCE, clock.now())
    assert not await store.suppress("k1", SuppressionReason.COMPLAINT, clock.now())
    assert await store.is_suppressed("k1")
    assert not await store.is_suppressed("k2")
    assert await store.suppressed_count() == 1


async def test_concurrent_counts_all_land_per_day(store: MailReputationStore) -> None:
    await asyncio.gather(*(store.count("2026-12-04", MailOutcome.SENT) for _ in range(20)))
    await store.count("2026-12-04", MailOutcome.BOUNCED, 2)
    await store.count("2026-12-03", MailOutcome.COMPLAINED)
    await store.count("2026-11-01", MailOutcome.SENT)
    days = await store.days("2026-12-01", "2026-12-31")
    assert days == [
        MailDay("2026-12-03", complained=1),
        MailDay("2026-12-04", sent=20, bounced=2),
    ]


async def test_rates_cover_every_day_and_the_list_holds_no_address(
    store: MailReputationStore, mongo_backend: Backend
) -> None:
    reputation = MailReputation(store=store, keys=Keyring("s" * 40), clock=mongo_backend.clock)
    for _ in range(10):
        await reputation.counted(MailOutcome.SENT)
    await reputation.suppress("Ada@Example.com ", SuppressionReason.BOUNCE)
    await reputation.counted(MailOutcome.BOUNCED)
    assert await reputation.is_suppressed("ada@example.com")
    rates = await reputation.rates(7)
    assert len(rates.days) == 7
    assert rates.days[-1].day == mongo_backend.clock.now().date().isoformat()
    assert (rates.sent, rates.bounce_rate, rates.complaint_rate) == (10, 0.1, 0.0)
    assert rates.suppressed_addresses == 1
    if mongo_backend.mongo is not None:  # what an operator reading the database sees
        client = await mongo_backend.mongo.managed.get()
        stored = await client[mongo_backend.mongo.database]["mail_suppressions"].find_one()
        assert stored is not None
        assert "ada" not in str(stored).lower()
