"""The PasskeyStore contract, held by the memory adapter and by MongoDB alike: unique
credential ids, per-user access, and the atomic, conditional use (counter and challenge)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from adapters.memory.clock import MemoryClock
from adapters.memory.passkeys import MemoryPasskeyStore
from adapters.mongo.passkeys import MongoPasskeyStore
from domain.auth.passkey import Passkey
from ports.passkeys import PasskeyStore
from tests.contract.conftest import Backend, make_backend

pytestmark = pytest.mark.contract

ADA, BOB = "a" * 32, "b" * 32
AT = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "mongo"])
def backend(request: pytest.FixtureRequest, clock: MemoryClock) -> Backend:
    return make_backend(request, clock)


@pytest.fixture
def store(backend: Backend) -> PasskeyStore:
    if backend.mongo is not None:
        return MongoPasskeyStore(backend.mongo.managed, backend.mongo.database)
    return MemoryPasskeyStore()


def passkey(
    pid: str, user: str = ADA, credential: str = "", count: int = 0, at: int = 0
) -> Passkey:
    return Passkey(
        id=pid,
        user_id=user,
        credential_id=credential or f"cred-{pid}",
        public_key=b"\xa5\x01\x02" + pid.encode(),
        sign_count=count,
        transports=("internal", "hybrid"),
        name=f"key {pid}",
        created_at=AT + timedelta(seconds=at),
    )


async def test_add_and_read_back(store: PasskeyStore) -> None:
    one, two = passkey("p1", at=1), passkey("p2", at=2)
    assert await store.add(two)
    assert await store.add(one)
    assert await store.by_credential("cred-p1") == one
    assert await store.by_credential("nope") is None
    assert await store.for_user(ADA) == [one, two]  # oldest first
    assert await store.for_user(BOB) == []


async def test_a_credential_id_is_stored_once_across_users(store: PasskeyStore) -> None:
    assert await store.add(passkey("p1", credential="same"))
    assert not await store.add(passkey("p2", user=BOB, credential="same"))
    assert await store.for_user(BOB) == []


async def test_rename_and_delete_only_the_owners(store: PasskeyStore) -> None:
    await store.add(passkey("p1"))
    assert await store.rename(BOB, "p1", "mine now") is None
    assert not await store.delete(BOB, "p1")
    renamed = await store.rename(ADA, "p1", "Phone")
    assert renamed is not None and renamed.name == "Phone"
    assert (await store.by_credential("cred-p1")) == renamed
    assert await store.delete(ADA, "p1")
    assert not await store.delete(ADA, "p1")
    assert await store.rename(ADA, "p1", "x") is None


async def test_delete_all_is_per_user(store: PasskeyStore) -> None:
    await store.add(passkey("p1"))
    await store.add(passkey("p2", user=BOB))
    await store.delete_all(ADA)
    assert await store.for_user(ADA) == []
    assert [p.id for p in await store.for_user(BOB)] == ["p2"]


async def test_use_moves_the_counter_up_and_spends_the_challenge(store: PasskeyStore) -> None:
    await store.add(passkey("p1", count=3))
    later = AT + timedelta(hours=1)
    assert not await store.use("p1", 3, 100, later)  # not above the stored counter
    assert not await store.use("p1", 2, 100, later)
    assert await store.use("p1", 4, 100, later)
    used = await store.by_credential("cred-p1")
    assert used is not None
    assert (used.sign_count, used.spent_before_ms, used.last_used_at) == (4, 100, later)
    assert not await store.use("p1", 5, 100, later)  # that challenge is spent
    assert not await store.use("p1", 5, 99, later)  # and any issued before it
    assert await store.use("p1", 5, 101, later)
    assert not await store.use("missing", 9, 500, later)


async def test_a_zero_counter_stays_usable_with_fresh_challenges(store: PasskeyStore) -> None:
    await store.add(passkey("p1"))
    assert await store.use("p1", 0, 100, AT)
    assert await store.use("p1", 0, 200, AT)
    assert not await store.use("p1", 0, 200, AT)
    assert await store.use("p1", 1, 300, AT)
    assert not await store.use("p1", 0, 400, AT)  # a counter once above 0 cannot fall back


async def test_of_concurrent_uses_of_one_assertion_exactly_one_wins(store: PasskeyStore) -> None:
    await store.add(passkey("p1"))
    results = await asyncio.gather(*(store.use("p1", 7, 100, AT) for _ in range(20)))
    assert results.count(True) == 1
