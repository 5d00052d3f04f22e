"""Attachments on memory adapters (domain/chat/attachments.py): a message references its
sender's ready files, at most ATTACHMENTS_MAX; room members, and only they, read a file a
live message of the room attaches; a deleted file shows `deleted` (one files read per page);
edits keep attachments, a tombstone drops them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from domain.chat.errors import InvalidInput
from domain.chat.model import ATTACHMENTS_MAX, Attachment, Room
from domain.errors import NotFound
from domain.files.model import FileStatus, StoredFile
from tests.unit.chat_fixtures import ChatWorld, build_chat_world

pytestmark = pytest.mark.unit


@pytest.fixture
def world() -> ChatWorld:
    return build_chat_world()


async def a_room(world: ChatWorld) -> Room:
    ada, bob = await world.user("ada"), await world.user("bob")
    await world.user("eve")
    room = await world.chat.create_room(ada, "team", [bob])
    return await world.chat.accept(bob, room.id)


async def a_file(
    world: ChatWorld, file_id: str, owner_id: str = "ada", status: FileStatus = FileStatus.READY
) -> StoredFile:
    now = world.clock.now()
    file = StoredFile(
        id=file_id,
        owner_id=owner_id,
        name=f"{file_id}.png",
        size=100 + len(file_id),
        content_type="image/png",
        status=status,
        object_key=f"files/{owner_id}/{file_id}",
        created_at=now,
        expires_at=now + timedelta(hours=1) if status is FileStatus.PENDING else None,
    )
    await world.files.add(file)
    return file


class CountingReads:
    """Counts the files store's batched reads (the memory repository's own method, wrapped)."""

    def __init__(self, world: ChatWorld) -> None:
        self.calls: list[list[str]] = []
        original = world.files.get_many

        async def get_many(file_ids: Sequence[str]) -> dict[str, StoredFile]:
            self.calls.append(list(file_ids))
            return await original(file_ids)

        world.files.get_many = get_many  # type: ignore[method-assign]


async def test_a_message_keeps_what_its_files_were_and_the_room_hears_them(
    world: ChatWorld,
) -> None:
    room = await a_room(world)
    one, two = await a_file(world, "f1"), await a_file(world, "f2")
    sent = await world.chat.send("ada", room.id, "look", attachment_ids=["f2", "f1", "f2"])
    expected = (
        Attachment("f2", two.name, two.content_type, two.size),
        Attachment("f1", one.name, one.content_type, one.size),
    )
    assert sent.message.attachments == expected  # in the order named, each once
    [new] = world.broadcaster.of("message:new")
    assert new.data.attachments == expected
    page = await world.chat.messages("bob", room.id)
    assert page.items[0].attachments == expected


async def test_only_the_senders_ready_files_attach_and_nothing_is_sent_otherwise(
    world: ChatWorld,
) -> None:
    room = await a_room(world)
    await a_file(world, "mine")
    await a_file(world, "bobs", owner_id="bob")
    await a_file(world, "pending", status=FileStatus.PENDING)
    for other in ("bobs", "pending", "nope"):
        with pytest.raises(NotFound) as refused:
            await world.chat.send("ada", room.id, "x", attachment_ids=["mine", other])
        assert str(refused.value) == f"No such file: {other}."  # whose it is never shows
    too_many = [(await a_file(world, f"f{n}")).id for n in range(ATTACHMENTS_MAX + 1)]
    with pytest.raises(InvalidInput):
        await world.chat.send("ada", room.id, "x", attachment_ids=too_many)
    assert (await world.rooms.get(room.id)).last_seq == 0  # type: ignore[union-attr]
    sent = await world.chat.send("ada", room.id, "x", attachment_ids=too_many[:ATTACHMENTS_MAX])
    assert len(sent.message.attachments) == ATTACHMENTS_MAX


async def test_a_deleted_file_is_marked_with_one_files_read_per_page(world: ChatWorld) -> None:
    room = await a_room(world)
    for n in range(3):
        await a_file(world, f"f{n}")
        await world.chat.send("ada", room.id, f"m{n}", attachment_ids=[f"f{n}"])
    await world.chat.send("ada", room.id, "plain")
    await world.files.delete("f1")
    reads = CountingReads(world)
    page = await world.chat.messages("bob", room.id)
    assert reads.calls == [["f0", "f1", "f2"]]  # one read for the whole page
    assert [[a.deleted for a in m.attachments] for m in page.items] == [
        [False],
        [True],
        [False],
        [],
    ]
    assert page.items[1].attachments[0].name == "f1.png"  # still shown by what it was
    stored = await world.messages.get(room.id, page.items[1].id)
    assert stored is not None and not stored.attachments[0].deleted  # storage unchanged
    await world.chat.messages("bob", room.id, after=3)  # only the plain message: no read
    assert len(reads.calls) == 1


async def test_edits_keep_attachments_and_a_tombstone_drops_them(world: ChatWorld) -> None:
    room = await a_room(world)
    await a_file(world, "f1")
    sent = (await world.chat.send("ada", room.id, "helo", attachment_ids=["f1"])).message
    edited = await world.edits.edit("ada", room.id, sent.id, "hello")
    assert edited.attachment_ids == ("f1",)
    assert (await world.attachments.read("bob", room.id, "f1")).file.id == "f1"
    tombstone = await world.edits.delete("ada", room.id, sent.id)
    assert tombstone.attachments == ()
    assert world.broadcaster.of("message:deleted")[0].data.attachments == ()
    assert (await world.chat.messages("bob", room.id)).items[0].attachments == ()
    with pytest.raises(NotFound):  # a tombstone opens no file
        await world.attachments.read("bob", room.id, "f1")


async def test_members_and_only_they_read_an_attached_file(world: ChatWorld) -> None:
    room = await a_room(world)
    await a_file(world, "f1")
    await a_file(world, "other")
    await world.chat.send("ada", room.id, "look", attachment_ids=["f1"])
    download = await world.attachments.read("bob", room.id, "f1")
    assert download.file.id == "f1" and download.url
    assert (await world.attachments.read("ada", room.id, "f1")).file.id == "f1"
    with pytest.raises(NotFound):  # not in the room
        await world.attachments.read("eve", room.id, "f1")
    with pytest.raises(NotFound):  # ada's file, but no message attaches it
        await world.attachments.read("bob", room.id, "other")
    await world.files.delete("f1")
    with pytest.raises(NotFound):  # gone
        await world.attachments.read("bob", room.id, "f1")
