"""The SecondFactorStore contract, held by the memory adapter and by MongoDB alike."""

from __future__ import annotations

import asyncio

import pytest

from adapters.memory.clock import MemoryClock
from adapters.memory.second_factor import MemorySecondFactorStore
from adapters.mongo.second_factor import MongoSecondFactorStore
from domain.auth.model import SecondFactor
from ports.second_factor import SecondFactorStore
from tests.contract.conftest import Backend, make_backend

pytestmark = pytest.mark.contract

USER = "u" * 32
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
HASHES = ("h1", "h2", "h3")


@pytest.fixture(params=["memory", "mongo"])
def backend(request: pytest.FixtureRequest, clock: MemoryClock) -> Backend:
    return make_backend(request, clock)


@pytest.fixture
def store(backend: Backend) -> SecondFactorStore:
    if backend.mongo is not None:
        return MongoSecondFactorStore(backend.mongo.managed, backend.mongo.database)
    return MemorySecondFactorStore()


async def enabled(store: SecondFactorStore, step: int = 10) -> None:
    assert await store.begin(SecondFactor(USER, SECRET, enabled=False))
    assert await store.enable(USER, SECRET, HASHES, step)


async def test_a_factor_is_pending_until_enabled_with_its_secret(store: SecondFactorStore) -> None:
    assert await store.get(USER) is None
    assert await store.begin(SecondFactor(USER, "OLD" + SECRET[3:], enabled=False))
    assert await store.begin(SecondFactor(USER, SECRET, enabled=False))  # replaces the pending
    assert await store.get(USER) == SecondFactor(USER, SECRET, enabled=False)
    assert not await store.enable(USER, "OLD" + SECRET[3:], HASHES, 5)
    assert await store.enable(USER, SECRET, HASHES, 5)
    assert await store.get(USER) == SecondFactor(USER, SECRET, True, HASHES, 5, 0)
    assert not await store.enable(USER, SECRET, HASHES, 6)  # enabled already
    assert not await store.begin(SecondFactor(USER, "NEW" + SECRET[3:], enabled=False))
    factor = await store.get(USER)
    assert factor is not None and factor.secret == SECRET and factor.enabled


async def test_a_step_is_spent_once_and_only_forward(store: SecondFactorStore) -> None:
    assert not await store.spend_step(USER, 11, 0)  # no factor
    await enabled(store, step=10)
    assert not await store.spend_step(USER, 10, 0)
    assert await store.spend_step(USER, 11, 0)
    assert not await store.spend_step(USER, 11, 0)
    assert not await store.spend_step(USER, 9, 0)
    factor = await store.get(USER)
    assert factor is not None and factor.last_step == 11


async def test_a_challenge_is_spent_with_its_step_or_code(store: SecondFactorStore) -> None:
    await enabled(store, step=10)
    assert await store.spend_step(USER, 11, issued_ms=1000)
    assert not await store.spend_step(USER, 12, issued_ms=1000)  # that challenge is spent
    assert not await store.spend_step(USER, 12, issued_ms=999)  # and any issued before it
    assert not await store.spend_recovery(USER, "h1", issued_ms=1000)
    assert await store.spend_recovery(USER, "h1", issued_ms=1001)
    factor = await store.get(USER)
    assert factor is not None
    assert (factor.spent_before_ms, factor.last_step, factor.recovery_hashes) == (
        1001,
        11,
        ("h2", "h3"),
    )


async def test_a_recovery_code_is_spent_once(store: SecondFactorStore) -> None:
    await enabled(store)
    assert await store.spend_recovery(USER, "h2", 0)
    assert not await store.spend_recovery(USER, "h2", 0)
    assert not await store.spend_recovery(USER, "nope", 0)
    assert await store.replace_recovery(USER, ("n1",))
    assert not await store.spend_recovery(USER, "h1", 0)
    assert await store.spend_recovery(USER, "n1", 0)


async def test_concurrent_spends_of_one_step_or_code_win_once(store: SecondFactorStore) -> None:
    await enabled(store)
    steps = await asyncio.gather(*(store.spend_step(USER, 11, 0) for _ in range(20)))
    codes = await asyncio.gather(*(store.spend_recovery(USER, "h3", 0) for _ in range(20)))
    assert (sum(steps), sum(codes)) == (1, 1)


async def test_a_pending_factor_spends_nothing_and_delete_removes_it(
    store: SecondFactorStore,
) -> None:
    assert await store.begin(SecondFactor(USER, SECRET, enabled=False))
    assert not await store.spend_step(USER, 1, 0)
    assert not await store.replace_recovery(USER, HASHES)
    await store.delete(USER)
    await store.delete(USER)  # idempotent
    assert await store.get(USER) is None
    await enabled(store)
    await store.delete(USER)
    assert await store.get(USER) is None


async def test_spend_challenge_spends_it_once(store: SecondFactorStore) -> None:
    assert not await store.spend_challenge(USER, 1000)  # no factor
    await enabled(store)
    assert await store.spend_challenge(USER, 1000)
    assert not await store.spend_challenge(USER, 1000)
    assert not await store.spend_challenge(USER, 999)
    assert not await store.spend_step(USER, 11, issued_ms=1000)  # spent for codes too
    results = await asyncio.gather(*(store.spend_challenge(USER, 2000) for _ in range(10)))
    assert results.count(True) == 1
