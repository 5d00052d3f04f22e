"""The chat stores' contracts, held by the memory adapters and by MongoDB / Redis alike:
RoomRepository and MessageRepository (memory, MongoDB), PresenceStore and TypingStore
(memory, Redis: keys with TTLs, one round trip for a whole presence renewal)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from adapters.lifecycle import ManagedClient
from adapters.memory.chat import (
    MemoryMessageRepository,
    MemoryPresenceStore,
    MemoryRoomRepository,
    MemoryTypingStore,
)
from adapters.memory.clock import MemoryClock
from adapters.mongo.chat import MongoMessageRepository, MongoRoomRepository
from adapters.mongo.client import MongoClient
from adapters.redis.chat import RedisPresenceStore, RedisTypingStore
from adapters.system.clock import SystemClock
from domain.chat.errors import DuplicateMessage
from domain.chat.model import Message, PresenceRenewal, Room
from domain.errors import ServiceUnavailable
from ports.chat import MessageRepository, PresenceStore, RoomRepository, TypingStore
from tests.contract.conftest import Backend, MongoService, RedisService, make_backend

if TYPE_CHECKING:
    from redis.asyncio import Redis

pytestmark = pytest.mark.contract


@pytest.fixture(params=["memory", "mongo"])
def mongo_backend(request: pytest.FixtureRequest, clock: MemoryClock) -> Backend:
    return make_backend(request, clock)


@pytest.fixture(params=["memory", "redis"])
def redis_backend(request: pytest.FixtureRequest, clock: MemoryClock) -> Backend:
    return make_backend(request, clock)


@pytest.fixture
def rooms(mongo_backend: Backend) -> RoomRepository:
    if mongo_backend.mongo is not None:
        return MongoRoomRepository(mongo_backend.mongo.managed, mongo_backend.mongo.database)
    return MemoryRoomRepository()


@pytest.fixture
def messages(mongo_backend: Backend) -> MessageRepository:
    if mongo_backend.mongo is not None:
        return MongoMessageRepository(mongo_backend.mongo.managed, mongo_backend.mongo.database)
    return MemoryMessageRepository()


@pytest.fixture
def presence(redis_backend: Backend) -> PresenceStore:
    if redis_backend.redis is not None:
        return RedisPresenceStore(redis_backend.redis.managed, SystemClock())
    return MemoryPresenceStore(redis_backend.clock)


@pytest.fixture
def typing(redis_backend: Backend) -> TypingStore:
    if redis_backend.redis is not None:
        return RedisTypingStore(redis_backend.redis.managed)
    return MemoryTypingStore(redis_backend.clock)


def a_room(clock: MemoryClock, room_id: str = "r1", *members: str, age_s: int = 0) -> Room:
    return Room(
        id=room_id,
        name="Grüße ✨",
        member_ids=members or ("ada", "bob"),
        simulated=False,
        created_at=clock.now() - timedelta(seconds=age_s),
    )


def a_message(
    clock: MemoryClock, seq: int, client_id: str | None = None, sender: str = "ada"
) -> Message:
    return Message(
        id=f"m{seq}-{sender}-{client_id}",
        room_id="r1",
        sender_id=sender,
        body=f"message {seq} ✨",
        seq=seq,
        created_at=clock.now(),
        client_id=client_id,
    )


async def test_a_room_reads_back_and_lists_for_its_members(
    rooms: RoomRepository, clock: MemoryClock
) -> None:
    older, newer = a_room(clock, "r1", "ada", "bob", age_s=10), a_room(clock, "r2", "ada")
    await rooms.add(newer)
    await rooms.add(older)
    assert await rooms.get("r1") == older
    assert await rooms.get("nope") is None
    assert await rooms.for_member("ada") == [older, newer]
    assert await rooms.for_member("bob") == [older]
    assert await rooms.for_member("eve") == []


async def test_adding_a_member_is_idempotent(rooms: RoomRepository, clock: MemoryClock) -> None:
    await rooms.add(a_room(clock))
    added = await rooms.add_member("r1", "cy")
    assert added is not None and added.member_ids == ("ada", "bob", "cy")
    again = await rooms.add_member("r1", "cy")
    assert again is not None and again.member_ids == ("ada", "bob", "cy")
    assert await rooms.add_member("nope", "cy") is None


async def test_concurrent_next_seq_gives_every_number_once(
    rooms: RoomRepository, clock: MemoryClock
) -> None:
    await rooms.add(a_room(clock))
    numbers = await asyncio.gather(*(rooms.next_seq("r1") for _ in range(30)))
    assert sorted(numbers) == list(range(1, 31))
    room = await rooms.get("r1")
    assert room is not None and room.last_seq == 30


async def test_messages_are_unique_by_seq_and_by_client_id(
    messages: MessageRepository, clock: MemoryClock
) -> None:
    first = a_message(clock, 1, "c-1")
    await messages.add(first)
    with pytest.raises(DuplicateMessage):
        await messages.add(a_message(clock, 2, "c-1"))
    with pytest.raises(DuplicateMessage):
        await messages.add(a_message(clock, 1, None, sender="bob"))
    await messages.add(a_message(clock, 2, "c-1", sender="bob"))  # another sender's c-1
    await messages.add(a_message(clock, 3))  # no client_id: never a duplicate of another
    await messages.add(a_message(clock, 4))
    assert await messages.by_client_id("r1", "ada", "c-1") == first
    assert await messages.by_client_id("r1", "ada", "c-2") is None


async def test_pages_are_ascending_by_seq_both_ways(
    messages: MessageRepository, clock: MemoryClock
) -> None:
    for seq in range(1, 11):
        await messages.add(a_message(clock, seq))
    assert [m.seq for m in await messages.page("r1", 3)] == [8, 9, 10]
    assert [m.seq for m in await messages.page("r1", 3, before=8)] == [5, 6, 7]
    assert [m.seq for m in await messages.page("r1", 3, before=3)] == [1, 2]
    assert [m.seq for m in await messages.page("r1", 3, after=6)] == [7, 8, 9]
    assert [m.seq for m in await messages.page("r1", 30, after=0)] == list(range(1, 11))
    assert await messages.page("other", 3) == []
    [one] = await messages.page("r1", 1, after=4)
    assert one == a_message(clock, 5)


async def test_presence_renewal_says_who_came_online_and_expires(
    presence: PresenceStore, redis_backend: Backend
) -> None:
    assert (await presence.renew(["ada", "bob"], 1)).came_online == ["ada", "bob"]
    assert (await presence.renew(["ada", "bob", "cy"], 1)).came_online == ["cy"]
    assert await presence.online(["ada", "cy", "eve"]) == {"ada", "cy"}
    await presence.remove(["cy"])
    assert await presence.online(["cy"]) == set()
    await redis_backend.pass_time(1.2)
    assert await presence.online(["ada", "bob"]) == set()
    assert await presence.renew([], 1) == PresenceRenewal([], ["ada", "bob"])
    assert await presence.renew([], 1) == PresenceRenewal([], [])  # reported once


async def test_users_no_instance_renews_lapse_once(
    presence: PresenceStore, redis_backend: Backend
) -> None:
    await presence.renew(["ada", "bob"], 1)  # instance A
    await presence.renew(["cy"], 2)  # instance B
    await presence.renew(["dan"], 5, lapse_s=0.5)  # announced offline before its key expires
    await presence.remove(["bob"])  # left: not lapsed, just gone
    await redis_backend.pass_time(1.2)
    renewal = await presence.renew(["cy"], 2)  # B renews; A stopped
    assert sorted(renewal.lapsed) == ["ada", "dan"]
    assert await presence.online(["dan", "cy"]) == {"cy"}  # lapsed: offline before its key expires
    assert (await presence.renew(["cy"], 2)).lapsed == []


async def test_typing_starts_once_renews_and_expires(
    typing: TypingStore, redis_backend: Backend
) -> None:
    assert await typing.start("r1", "ada", 1) is True
    assert await typing.start("r1", "ada", 1) is False
    assert await typing.is_typing("r1", "ada")
    assert not await typing.is_typing("r1", "bob")
    assert await typing.stop("r1", "ada") is True
    assert await typing.stop("r1", "ada") is False
    await typing.start("r1", "ada", 1)
    await redis_backend.pass_time(1.2)
    assert not await typing.is_typing("r1", "ada")
    assert await typing.start("r1", "ada", 1) is True


async def test_redis_keys_are_the_documented_ones_and_all_expire(
    redis_service: RedisService,
) -> None:
    service = redis_service
    await RedisPresenceStore(service.managed, SystemClock()).renew(["ada", "bob"], 10)
    await RedisTypingStore(service.managed).start("r1", "ada", 3)
    keys = sorted(k.decode() for k in await service.keys())
    assert keys == ["presence:ada", "presence:bob", "presence:online", "typing:r1:ada"]
    for key in keys:
        assert 0 < await service.raw.ttl(key) <= 30


async def test_a_presence_renewal_is_one_redis_command(redis_service: RedisService) -> None:
    service = redis_service
    store = RedisPresenceStore(service.managed, SystemClock())
    await store.renew(["warm-up"], 10)  # the script is loaded once per server
    before = await service.raw.info("commandstats")
    await store.renew([f"user{i}" for i in range(100)], 10)
    after = await service.raw.info("commandstats")
    calls = {
        name: after[name]["calls"] - before.get(name, {"calls": 0})["calls"]
        for name in after
        # INFO; what runs inside the script
        if not name.startswith(("cmdstat_info", "cmdstat_set", "cmdstat_z", "cmdstat_expire"))
    }
    assert {name: n for name, n in calls.items() if n} == {"cmdstat_evalsha": 1}


async def test_mongo_has_the_ordering_idempotency_and_retention_indexes(
    mongo_service: MongoService,
) -> None:
    repository = MongoMessageRepository(mongo_service.managed, mongo_service.database, 90)
    await repository.ensure_indexes()
    await MongoRoomRepository(mongo_service.managed, mongo_service.database).ensure_indexes()
    indexes = await mongo_service.index_keys("messages")
    assert indexes["room_seq"]["key"] == [("room_id", 1), ("seq", 1)]
    assert indexes["room_seq"]["unique"] is True
    by_client = indexes["room_sender_client_id"]
    assert by_client["key"] == [("room_id", 1), ("sender_id", 1), ("client_id", 1)]
    assert by_client["unique"] is True
    assert indexes["retention_ttl"]["expireAfterSeconds"] == 90 * 24 * 3600
    assert "member_rooms" in await mongo_service.index_keys("rooms")


async def test_unreachable_stores_are_service_unavailable(
    dead_redis: ManagedClient[Redis], dead_mongo: ManagedClient[MongoClient]
) -> None:
    for attempt in (
        RedisPresenceStore(dead_redis, SystemClock()).renew(["ada"], 10),
        RedisTypingStore(dead_redis).start("r1", "ada", 3),
        MongoRoomRepository(dead_mongo, "flowhub").get("r1"),
    ):
        with pytest.raises(ServiceUnavailable):
            await attempt
