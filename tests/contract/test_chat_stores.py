"""The chat stores' contracts, held by the memory adapters and by MongoDB alike:
RoomRepository and MessageRepository. Presence and typing have no store: they live in each
instance's memory (domain/chat/presence.py, tests/unit/test_cluster.py)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.lifecycle import ManagedClient
from adapters.memory.chat import MemoryMessageRepository, MemoryReadMarks, MemoryRoomRepository
from adapters.memory.clock import MemoryClock
from adapters.mongo.chat import MongoMessageRepository, MongoReadMarks, MongoRoomRepository
from adapters.mongo.client import MongoClient
from domain.chat.errors import DuplicateMessage
from domain.chat.model import Attachment, Message, Room, message_id_for
from domain.errors import ServiceUnavailable
from ports.chat import MessageRepository, ReadMarks, RoomRepository
from tests.contract.conftest import Backend, MongoService, make_backend

pytestmark = pytest.mark.contract


@pytest.fixture(params=["memory", "mongo"])
def mongo_backend(request: pytest.FixtureRequest, clock: MemoryClock) -> Backend:
    return make_backend(request, clock)


@pytest.fixture
def rooms(mongo_backend: Backend) -> RoomRepository:
    if mongo_backend.mongo is not None:
        return MongoRoomRepository(mongo_backend.mongo.managed, mongo_backend.mongo.database)
    return MemoryRoomRepository()


@pytest.fixture
def marks(mongo_backend: Backend) -> ReadMarks:
    if mongo_backend.mongo is not None:
        return MongoReadMarks(mongo_backend.mongo.managed, mongo_backend.mongo.database)
    return MemoryReadMarks()


async def test_a_read_mark_only_moves_forward_even_when_concurrent(marks: ReadMarks) -> None:
    assert await marks.advance("r1", "ada", 3) == 3
    assert await marks.advance("r1", "ada", 2) == 3  # never backwards
    results = await asyncio.gather(*(marks.advance("r1", "bob", n) for n in range(1, 11)))
    assert max(results) == 10 and await marks.advance("r1", "bob", 0) == 10
    await marks.advance("r2", "ada", 7)
    assert await marks.of_user("ada", ["r1", "r2", "r3"]) == {"r1": 3, "r2": 7}
    assert await marks.of_user("ada", []) == {}
    assert await marks.of_room("r1") == {"ada": 3, "bob": 10}
    assert await marks.of_room("nope") == {}


@pytest.fixture
def messages(mongo_backend: Backend) -> MessageRepository:
    if mongo_backend.mongo is not None:
        return MongoMessageRepository(mongo_backend.mongo.managed, mongo_backend.mongo.database)
    return MemoryMessageRepository()


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
        id=f"m{seq}-{sender}" if client_id is None else message_id_for("r1", sender, client_id),
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


async def test_an_invitation_is_idempotent_and_lists_for_the_invitee(
    rooms: RoomRepository, clock: MemoryClock
) -> None:
    await rooms.add(replace(a_room(clock), creator_id="ada"))
    invited = await rooms.invite("r1", "cy")
    assert invited is not None and invited.invited_ids == ("cy",)
    assert invited.member_ids == ("ada", "bob") and invited.creator_id == "ada"
    again = await rooms.invite("r1", "cy")
    assert again is not None and again.invited_ids == ("cy",)
    assert await rooms.invite("r1", "bob") is None  # a member already
    assert await rooms.invite("nope", "cy") is None
    assert [r.id for r in await rooms.invited_to("cy")] == ["r1"]
    assert await rooms.invited_to("bob") == []
    assert await rooms.for_member("cy") == []


async def test_only_an_invited_user_is_accepted_and_once_of_many_concurrent_accepts(
    rooms: RoomRepository, clock: MemoryClock
) -> None:
    await rooms.add(a_room(clock))
    assert await rooms.accept("r1", "cy") is None  # not invited
    await rooms.invite("r1", "cy")
    accepted = await asyncio.gather(*(rooms.accept("r1", "cy") for _ in range(10)))
    done = [room for room in accepted if room is not None]
    assert len(done) == 1
    assert done[0].member_ids == ("ada", "bob", "cy") and done[0].invited_ids == ()
    assert await rooms.invited_to("cy") == []
    assert await rooms.accept("nope", "cy") is None


async def test_an_invitation_under_another_name_is_accepted_by_the_user_it_names(
    rooms: RoomRepository, clock: MemoryClock
) -> None:
    await rooms.add(a_room(clock))
    await rooms.invite("r1", "email:k1:c\u2026@example.com")
    await rooms.invite("r1", "cy")
    assert await rooms.accept("r1", "cy", invitee="email:k2:c\u2026@example.com") is None
    accepted = await asyncio.gather(
        *(rooms.accept("r1", "cy", invitee="email:k1:c\u2026@example.com") for _ in range(5))
    )
    done = [room for room in accepted if room is not None]
    assert len(done) == 1
    # both the address's invitation and the user's own are answered
    assert done[0].member_ids == ("ada", "bob", "cy") and done[0].invited_ids == ()
    assert await rooms.invited_to("email:k1:c\u2026@example.com") == []


async def test_remove_takes_a_user_out_of_members_and_invitations(
    rooms: RoomRepository, clock: MemoryClock
) -> None:
    await rooms.add(a_room(clock))
    await rooms.invite("r1", "cy")
    after = await rooms.remove("r1", "bob")
    assert after is not None and after.member_ids == ("ada",) and after.invited_ids == ("cy",)
    after = await rooms.remove("r1", "cy")
    assert after is not None and after.invited_ids == ()
    again = await rooms.remove("r1", "cy")
    assert again is not None and again.member_ids == ("ada",)
    assert await rooms.remove("nope", "cy") is None
    assert await rooms.for_member("bob") == []


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


async def test_an_edit_replaces_the_body_and_reads_back_everywhere(
    messages: MessageRepository, clock: MemoryClock
) -> None:
    sent = a_message(clock, 1, "c-1")
    await messages.add(sent)
    await messages.add(a_message(clock, 2))
    edited_at = clock.now() + timedelta(seconds=30)
    edited = await messages.edit("r1", sent.id, "fixed ✨", edited_at, "e-1")
    assert edited is not None
    assert (edited.body, edited.edited_at, edited.edit_id) == ("fixed ✨", edited_at, "e-1")
    assert (edited.seq, edited.sender_id, edited.created_at) == (1, "ada", sent.created_at)
    assert await messages.get("r1", sent.id) == edited
    assert await messages.by_client_id("r1", "ada", "c-1") == edited
    assert (await messages.page("r1", 10))[0] == edited
    again = await messages.edit("r1", sent.id, "once more", edited_at, None)
    assert again is not None and again.edit_id is None
    assert await messages.edit("r1", "no-such-id", "x", edited_at, None) is None
    assert await messages.edit("other", sent.id, "x", edited_at, None) is None  # not its room
    assert await messages.get("other", sent.id) is None


async def test_a_delete_leaves_a_tombstone_that_cannot_be_edited(
    messages: MessageRepository, clock: MemoryClock
) -> None:
    sent = a_message(clock, 1, "c-1")
    await messages.add(sent)
    await messages.edit("r1", sent.id, "edited", clock.now(), "e-1")
    tombstone = await messages.delete("r1", sent.id)
    assert tombstone is not None
    assert (tombstone.deleted, tombstone.body, tombstone.edit_id) == (True, "", None)
    assert (tombstone.seq, tombstone.client_id) == (1, "c-1")  # the seq stays: no gap
    assert await messages.delete("r1", sent.id) == tombstone  # again: the same
    assert await messages.edit("r1", sent.id, "back", clock.now(), None) is None
    assert await messages.get("r1", sent.id) == tombstone
    assert [m.deleted for m in await messages.page("r1", 10, after=0)] == [True]
    assert await messages.by_client_id("r1", "ada", "c-1") == tombstone  # a retried send
    assert await messages.delete("r1", "no-such-id") is None


async def test_tombstone_sender_makes_every_message_of_one_sender_a_tombstone(
    messages: MessageRepository, clock: MemoryClock
) -> None:
    mine = [a_message(clock, 1, "c-1"), a_message(clock, 3)]
    other_room = replace(a_message(clock, 1, sender="ada"), id="x1", room_id="r2")
    theirs = a_message(clock, 2, sender="bob")
    for message in (*mine, other_room, theirs):
        await messages.add(message)
    await messages.edit("r1", mine[0].id, "edited", clock.now(), "e-1")
    await messages.delete("r1", mine[1].id)  # a tombstone already: it stays as it is

    assert await messages.tombstone_sender("ada") == 2
    assert await messages.tombstone_sender("ada") == 0  # again: nothing changes
    assert await messages.tombstone_sender("nobody") == 0

    page = await messages.page("r1", 10, after=0)
    assert [(m.seq, m.sender_id, m.body, m.deleted) for m in page] == [
        (1, "ada", "", True),
        (2, "bob", theirs.body, False),
        (3, "ada", "", True),
    ]
    first = page[0]
    assert (first.client_id, first.edit_id, first.created_at) == ("c-1", None, mine[0].created_at)
    assert first.edited_at is not None  # its times are kept, as a single delete keeps them
    gone = await messages.get("r2", "x1")
    assert gone is not None and (gone.deleted, gone.body, gone.seq) == (True, "", 1)


async def test_forget_drops_one_users_read_marks_in_every_room(marks: ReadMarks) -> None:
    await marks.advance("r1", "ada", 3)
    await marks.advance("r2", "ada", 5)
    await marks.advance("r1", "bob", 2)

    await marks.forget("ada")
    await marks.forget("ada")  # idempotent

    assert await marks.of_user("ada", ["r1", "r2"]) == {}
    assert await marks.of_room("r1") == {"bob": 2}
    assert await marks.advance("r1", "ada", 1) == 1  # a fresh mark starts from nothing


async def test_concurrent_edits_and_a_delete_end_deleted(
    messages: MessageRepository, clock: MemoryClock
) -> None:
    sent = a_message(clock, 1)
    await messages.add(sent)
    edits = [messages.edit("r1", sent.id, f"v{i}", clock.now(), None) for i in range(10)]
    await asyncio.gather(*edits[:5], messages.delete("r1", sent.id), *edits[5:])
    final = await messages.get("r1", sent.id)
    assert final is not None and final.deleted and final.body == ""


async def test_mongo_stores_no_edit_fields_for_a_message_never_edited(
    mongo_service: MongoService, clock: MemoryClock
) -> None:
    repository = MongoMessageRepository(mongo_service.managed, mongo_service.database)
    await repository.add(a_message(clock, 1))
    client = await mongo_service.managed.get()
    raw = await client[mongo_service.database]["messages"].find_one({"seq": 1})
    assert raw is not None
    assert not {"client_id", "edited_at", "deleted", "edit_id", "attachments"} & set(raw)


async def test_mongo_has_the_ordering_and_retention_indexes_and_no_other(
    mongo_service: MongoService,
) -> None:
    repository = MongoMessageRepository(mongo_service.managed, mongo_service.database, 90)
    await repository.ensure_indexes()
    await MongoRoomRepository(mongo_service.managed, mongo_service.database).ensure_indexes()
    indexes = await mongo_service.index_keys("messages")
    assert indexes["room_seq"]["key"] == [("room_id", 1), ("seq", 1)]
    assert indexes["room_seq"]["unique"] is True
    assert indexes["retention_ttl"]["expireAfterSeconds"] == 90 * 24 * 3600
    assert "member_rooms" in await mongo_service.index_keys("rooms")
    # idempotency is the derived `_id`'s (message_id_for): no index of its own
    assert sorted(indexes) == ["_id_", "attachment_rooms", "retention_ttl", "room_seq"]
    # attachments: a partial index, no entry for the many messages without any
    assert indexes["attachment_rooms"]["key"] == [("attachments.id", 1), ("room_id", 1)]
    assert indexes["attachment_rooms"]["partialFilterExpression"] == {
        "attachments.id": {"$exists": True}
    }


async def test_attachments_are_kept_by_edits_and_gone_with_the_tombstone(
    messages: MessageRepository, clock: MemoryClock
) -> None:
    photo = Attachment(id="f1", name="Grüße.png", content_type="image/png", size=1234)
    notes = Attachment(id="f2", name="notes.txt", content_type="text/plain", size=5)
    await messages.add(replace(a_message(clock, 1), attachments=(photo, notes)))
    await messages.add(a_message(clock, 2))
    [first, second] = await messages.page("r1", 10)
    assert first.attachments == (photo, notes) and first.attachment_ids == ("f1", "f2")
    assert second.attachments == ()
    assert (await messages.get("r1", first.id)) == first
    edited = await messages.edit("r1", first.id, "new words", clock.now(), None)
    assert edited is not None and edited.attachments == (photo, notes)
    assert await messages.has_attachment("r1", "f1") and await messages.has_attachment("r1", "f2")
    assert not await messages.has_attachment("r1", "f3")
    assert not await messages.has_attachment("r2", "f1")  # another room
    await messages.delete("r1", first.id)
    assert not await messages.has_attachment("r1", "f1")  # a tombstone opens no file
    gone = await messages.get("r1", first.id)
    assert gone is not None and gone.attachments == ()  # nor keeps the files' names


async def test_unreachable_stores_are_service_unavailable(
    dead_mongo: ManagedClient[MongoClient],
) -> None:
    with pytest.raises(ServiceUnavailable):
        await MongoRoomRepository(dead_mongo, "flowhub").get("r1")


async def test_rooms_overview_counts_and_orders_by_messages_and_age(
    rooms: RoomRepository, clock: MemoryClock
) -> None:
    await rooms.add(a_room(clock, "r1", age_s=30))
    await rooms.add(a_room(clock, "r2", age_s=20))
    await rooms.add(a_room(clock, "r3", age_s=10))
    for _ in range(3):
        await rooms.next_seq("r1")
    await rooms.next_seq("r2")
    overview = await rooms.overview(2)
    assert overview.count == 3
    assert [(r.id, r.last_seq) for r in overview.busiest] == [("r1", 3), ("r2", 1)]
    assert [r.id for r in overview.recent] == ["r3", "r2"]
