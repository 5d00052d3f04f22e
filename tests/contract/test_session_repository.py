"""The SessionRepository contract, held by the memory adapter and by MongoDB alike.

Both run on the fake clock: MongoDB's TTL monitor deletes expired families only every 60 s,
so the repository itself treats `expires_at <= now` as gone, and that is what is tested.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from adapters.lifecycle import ManagedClient
from adapters.memory.clock import MemoryClock
from adapters.memory.sessions import MemorySessionRepository
from adapters.mongo.client import MongoClient
from adapters.mongo.sessions import MongoSessionRepository
from domain.auth.model import SessionFamily
from domain.errors import ServiceUnavailable
from ports.sessions import SessionRepository
from tests.contract.conftest import Backend, MongoService, make_backend

pytestmark = pytest.mark.contract

DAY = timedelta(days=1)


@pytest.fixture(params=["memory", "mongo"])
def backend(request: pytest.FixtureRequest, clock: MemoryClock) -> Backend:
    return make_backend(request, clock)


@pytest.fixture
def sessions(backend: Backend) -> SessionRepository:
    if backend.mongo is not None:
        return MongoSessionRepository(backend.mongo.managed, backend.mongo.database, backend.clock)
    return MemorySessionRepository(backend.clock)


def a_family(
    clock: MemoryClock, family_id: str = "f1", user_id: str = "u1", lifetime: timedelta = DAY
) -> SessionFamily:
    now = clock.now()  # the fixture's clock starts at a whole millisecond
    return SessionFamily(
        id=family_id,
        user_id=user_id,
        salt="c2FsdA",
        generation=0,
        current_hash="hash-0",
        previous_hash=None,
        created_at=now,
        rotated_at=now,
        expires_at=now + lifetime,
    )


def to_ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


async def test_an_added_family_reads_back(sessions: SessionRepository, clock: MemoryClock) -> None:
    family = a_family(clock)

    await sessions.add(family)

    assert await sessions.get("f1") == family


async def test_an_unknown_family_is_none(sessions: SessionRepository) -> None:
    assert await sessions.get("nope") is None


async def test_a_family_is_gone_once_it_expires(
    sessions: SessionRepository, backend: Backend
) -> None:
    await sessions.add(a_family(backend.clock, lifetime=timedelta(seconds=30)))
    await backend.pass_time(29.999)
    assert await sessions.get("f1") is not None

    await backend.pass_time(0.001)  # expires_at <= now

    assert await sessions.get("f1") is None


async def test_advance_rotates_and_keeps_the_old_hash(
    sessions: SessionRepository, clock: MemoryClock
) -> None:
    family = a_family(clock)
    await sessions.add(family)
    rotated_at = family.created_at + timedelta(minutes=10)

    moved = await sessions.advance("f1", 0, "hash-1", rotated_at, rotated_at + DAY)

    assert moved
    assert await sessions.get("f1") == SessionFamily(
        id="f1",
        user_id="u1",
        salt=family.salt,
        generation=1,
        current_hash="hash-1",
        previous_hash="hash-0",
        created_at=family.created_at,
        rotated_at=rotated_at,
        expires_at=rotated_at + DAY,
    )


async def test_advance_from_a_stale_generation_changes_nothing(
    sessions: SessionRepository, clock: MemoryClock
) -> None:
    family = a_family(clock)
    await sessions.add(family)
    at = family.created_at
    assert await sessions.advance("f1", 0, "hash-1", at, at + DAY)
    after_first = await sessions.get("f1")

    assert not await sessions.advance("f1", 0, "hash-x", at, at + DAY)
    assert not await sessions.advance("f1", 5, "hash-x", at, at + DAY)

    assert await sessions.get("f1") == after_first
    assert await sessions.advance("f1", 1, "hash-2", at, at + DAY)
    rotated = await sessions.get("f1")
    assert rotated is not None
    assert (rotated.generation, rotated.current_hash, rotated.previous_hash) == (
        2,
        "hash-2",
        "hash-1",
    )


async def test_advance_of_a_missing_or_expired_family_is_false(
    sessions: SessionRepository, backend: Backend
) -> None:
    at = backend.clock.now()
    assert not await sessions.advance("nope", 0, "hash-1", at, at + DAY)

    await sessions.add(a_family(backend.clock, lifetime=timedelta(seconds=30)))
    await backend.pass_time(30)

    assert not await sessions.advance("f1", 0, "hash-1", at, at + DAY)
    assert await sessions.get("f1") is None


async def test_ten_concurrent_advances_from_one_generation_move_it_once(
    sessions: SessionRepository, clock: MemoryClock
) -> None:
    await sessions.add(a_family(clock))
    at = clock.now()

    results = await asyncio.gather(
        *(sessions.advance("f1", 0, f"hash-{i}", at, at + DAY) for i in range(10))
    )

    assert results.count(True) == 1
    family = await sessions.get("f1")
    assert family is not None
    assert family.generation == 1
    assert family.previous_hash == "hash-0"
    assert family.current_hash == f"hash-{results.index(True)}"


async def test_hashes_that_look_like_field_paths_are_stored_as_given(
    sessions: SessionRepository, clock: MemoryClock
) -> None:
    await sessions.add(a_family(clock))
    at = clock.now()

    assert await sessions.advance("f1", 0, "$current_hash", at, at + DAY)

    family = await sessions.get("f1")
    assert family is not None
    assert (family.current_hash, family.previous_hash) == ("$current_hash", "hash-0")


async def test_the_grace_of_a_generation_is_taken_once(
    sessions: SessionRepository, clock: MemoryClock
) -> None:
    await sessions.add(a_family(clock))
    assert await sessions.take_grace("f1", 1) is False  # not at that generation
    assert await sessions.advance("f1", 0, "hash-1", clock.now(), clock.now() + DAY)

    assert await sessions.take_grace("f1", 1) is True
    assert await sessions.take_grace("f1", 1) is False
    assert (await sessions.get("f1")).grace_generation == 1  # type: ignore[union-attr]
    # the next generation has a grace of its own
    assert await sessions.advance("f1", 1, "hash-2", clock.now(), clock.now() + DAY)
    assert await sessions.take_grace("f1", 2) is True
    assert await sessions.take_grace("gone", 0) is False


async def test_ten_concurrent_grace_takers_get_one_grace(
    sessions: SessionRepository, clock: MemoryClock
) -> None:
    await sessions.add(a_family(clock))
    assert await sessions.advance("f1", 0, "hash-1", clock.now(), clock.now() + DAY)

    taken = await asyncio.gather(*(sessions.take_grace("f1", 1) for _ in range(10)))

    assert taken.count(True) == 1


async def test_revoke_removes_one_family(sessions: SessionRepository, clock: MemoryClock) -> None:
    await sessions.add(a_family(clock, "f1"))
    await sessions.add(a_family(clock, "f2"))

    await sessions.revoke("f1")

    assert await sessions.get("f1") is None
    assert await sessions.get("f2") is not None
    at = clock.now()
    assert not await sessions.advance("f1", 0, "hash-1", at, at + DAY)
    await sessions.revoke("f1")  # again: nothing to do, no error


async def test_revoke_all_removes_every_family_of_that_user_only_and_names_them(
    sessions: SessionRepository, clock: MemoryClock
) -> None:
    for family_id, user_id in [("a1", "ann"), ("a2", "ann"), ("a3", "ann"), ("b1", "bob")]:
        await sessions.add(a_family(clock, family_id, user_id))

    assert sorted(await sessions.revoke_all("ann")) == ["a1", "a2", "a3"]

    assert [await sessions.get(f) for f in ("a1", "a2", "a3")] == [None, None, None]
    assert await sessions.get("b1") == a_family(clock, "b1", "bob")
    assert await sessions.revoke_all("ann") == []
    assert await sessions.revoke_all("nobody") == []


async def test_datetimes_read_back_utc_aware_equal_to_the_millisecond(
    sessions: SessionRepository, clock: MemoryClock
) -> None:
    base = clock.now().replace(microsecond=654321)
    family = replace(
        a_family(clock),
        created_at=base,
        rotated_at=base + timedelta(microseconds=1),
        expires_at=base + DAY,
    )
    await sessions.add(family)

    found = await sessions.get("f1")

    assert found is not None
    for read, written in [
        (found.created_at, family.created_at),
        (found.rotated_at, family.rotated_at),
        (found.expires_at, family.expires_at),
    ]:
        assert read.tzinfo is UTC
        assert to_ms(read) == to_ms(written)


# MongoDB: indexes, failures -----------------------------------------------------------------


async def test_mongo_makes_its_indexes_idempotently(
    mongo_service: MongoService, clock: MemoryClock
) -> None:
    repository = MongoSessionRepository(mongo_service.managed, mongo_service.database, clock)

    await repository.ensure_indexes()
    await repository.ensure_indexes()

    indexes = list((await mongo_service.index_keys("sessions")).values())
    assert [spec["key"] for spec in indexes if spec["key"] == [("user_id", 1)]] == [
        [("user_id", 1)]
    ]
    ttl = [spec for spec in indexes if spec["key"] == [("expires_at", 1)]]
    assert len(ttl) == 1
    assert ttl[0]["expireAfterSeconds"] == 0


async def test_mongo_makes_its_indexes_before_first_use(
    mongo_service: MongoService, clock: MemoryClock
) -> None:
    repository = MongoSessionRepository(mongo_service.managed, mongo_service.database, clock)

    await repository.add(a_family(clock))

    indexes = (await mongo_service.index_keys("sessions")).values()
    assert any(spec.get("expireAfterSeconds") == 0 for spec in indexes)


async def test_mongo_stores_expiry_as_a_date_for_the_ttl_index(
    mongo_service: MongoService, clock: MemoryClock
) -> None:
    repository = MongoSessionRepository(mongo_service.managed, mongo_service.database, clock)
    family = a_family(clock)
    await repository.add(family)

    client = await mongo_service.managed.get()
    stored = await client[mongo_service.database]["sessions"].find_one({"_id": "f1"})

    assert stored is not None
    assert isinstance(stored["expires_at"], datetime)
    assert stored["expires_at"] == family.expires_at
    assert stored["user_id"] == "u1"


async def test_mongo_down_is_service_unavailable(
    dead_mongo: ManagedClient[MongoClient], clock: MemoryClock
) -> None:
    repository = MongoSessionRepository(dead_mongo, "unreachable", clock)
    at = clock.now()
    calls = [
        repository.ensure_indexes(),
        repository.add(a_family(clock)),
        repository.get("f1"),
        repository.advance("f1", 0, "hash-1", at, at + DAY),
        repository.take_grace("f1", 1),
        repository.revoke("f1"),
        repository.revoke_all("u1"),
    ]

    results = await asyncio.gather(*calls, return_exceptions=True)

    assert all(isinstance(result, ServiceUnavailable) for result in results), results


async def test_a_users_live_families_are_listed_with_their_client(
    sessions: SessionRepository, clock: MemoryClock
) -> None:
    await sessions.add(replace(a_family(clock, "a1", "ann"), client="Firefox on Linux"))
    await sessions.add(a_family(clock, "a2", "ann", lifetime=timedelta(seconds=5)))
    await sessions.add(a_family(clock, "b1", "bob"))
    listed = {f.id: f for f in await sessions.for_user("ann")}
    assert set(listed) == {"a1", "a2"} and listed["a1"].client == "Firefox on Linux"
    assert listed["a2"].client == ""
    clock.advance(6)
    assert [f.id for f in await sessions.for_user("ann")] == ["a1"]  # expired: gone
    assert await sessions.for_user("nobody") == []


async def test_count_by_user_counts_the_unexpired_families_of_each(
    sessions: SessionRepository, clock: MemoryClock
) -> None:
    await sessions.add(a_family(clock, "f1", "u1"))
    await sessions.add(a_family(clock, "f2", "u1"))
    await sessions.add(a_family(clock, "f3", "u1", lifetime=timedelta(seconds=5)))
    await sessions.add(a_family(clock, "f4", "u2"))
    await sessions.add(a_family(clock, "f5", "u3"))
    assert await sessions.count_by_user(["u1", "u2", "nobody"]) == {"u1": 3, "u2": 1, "nobody": 0}
    clock.advance(10)
    await sessions.revoke("f4")
    assert await sessions.count_by_user(["u1", "u2"]) == {"u1": 2, "u2": 0}
    assert await sessions.count_by_user([]) == {}
