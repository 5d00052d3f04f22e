"""MessageEdits on memory adapters: the sender edits within the window and deletes at any
time; a tombstone keeps the seq; retries change nothing and emit nothing; nobody else may."""

from __future__ import annotations

import pytest

from domain.chat.edits import EditPolicy, MessageEdits
from domain.chat.errors import EditWindowClosed, InvalidInput, MessageGone, NotTheSender
from domain.chat.model import Room
from domain.errors import NotFound
from tests.unit.chat_fixtures import ChatWorld, build_chat_world

pytestmark = pytest.mark.unit


@pytest.fixture
def world() -> ChatWorld:
    return build_chat_world(edit_policy=EditPolicy(edit_window_s=60))


@pytest.fixture
def edits(world: ChatWorld) -> MessageEdits:
    return world.edits


async def a_room(world: ChatWorld) -> Room:
    ada, bob = await world.user("ada"), await world.user("bob")
    await world.user("eve")
    room = await world.chat.create_room(ada, "team", [bob])
    return await world.chat.accept(bob, room.id)


async def test_the_sender_edits_and_the_room_hears_it(
    world: ChatWorld, edits: MessageEdits
) -> None:
    room = await a_room(world)
    sent = (await world.chat.send("ada", room.id, "helo", "c-1")).message
    world.clock.advance(30)
    edited = await edits.edit("ada", room.id, sent.id, "hello", "e-1")
    assert (edited.body, edited.seq, edited.client_id) == ("hello", sent.seq, "c-1")
    assert edited.edited_at is not None and edited.edited_at > sent.created_at
    [event] = world.broadcaster.of("message:updated")
    assert (event.data, event.to) == (edited, f"room:{room.id}")
    page = await world.chat.messages("bob", room.id)
    assert [m.body for m in page.items] == ["hello"]


async def test_an_edit_retried_with_its_client_id_changes_nothing_and_emits_once(
    world: ChatWorld, edits: MessageEdits
) -> None:
    room = await a_room(world)
    sent = (await world.chat.send("ada", room.id, "one")).message
    first = await edits.edit("ada", room.id, sent.id, "two", "e-1")
    world.clock.advance(5)
    assert await edits.edit("ada", room.id, sent.id, "two", "e-1") == first
    assert len(world.broadcaster.of("message:updated")) == 1
    second = await edits.edit("ada", room.id, sent.id, "three", "e-2")
    assert second.body == "three"
    assert len(world.broadcaster.of("message:updated")) == 2


async def test_past_the_window_an_edit_is_refused_and_nothing_changes(
    world: ChatWorld, edits: MessageEdits
) -> None:
    room = await a_room(world)
    sent = (await world.chat.send("ada", room.id, "one")).message
    world.clock.advance(61)
    with pytest.raises(EditWindowClosed):
        await edits.edit("ada", room.id, sent.id, "late")
    assert (await world.chat.messages("ada", room.id)).items == [sent]
    assert world.broadcaster.of("message:updated") == []


async def test_nobody_but_the_sender_edits_or_deletes(
    world: ChatWorld, edits: MessageEdits
) -> None:
    room = await a_room(world)
    sent = (await world.chat.send("ada", room.id, "mine")).message
    with pytest.raises(NotTheSender):
        await edits.edit("bob", room.id, sent.id, "yours now")
    with pytest.raises(NotTheSender):
        await edits.delete("bob", room.id, sent.id)
    for stranger_call in (
        edits.edit("eve", room.id, sent.id, "x"),
        edits.delete("eve", room.id, sent.id),
    ):
        with pytest.raises(NotFound):  # not in the room: as if there were no room
            await stranger_call
    with pytest.raises(NotFound):
        await edits.edit("ada", room.id, "no-such-message", "x")
    assert (await world.chat.messages("ada", room.id)).items == [sent]


async def test_a_delete_leaves_a_tombstone_once_and_it_cannot_be_edited(
    world: ChatWorld, edits: MessageEdits
) -> None:
    room = await a_room(world)
    first = (await world.chat.send("ada", room.id, "one")).message
    await world.chat.send("bob", room.id, "two")
    world.clock.advance(3600)  # deleting has no window
    tombstone = await edits.delete("ada", room.id, first.id)
    assert (tombstone.deleted, tombstone.body, tombstone.seq) == (True, "", 1)
    assert await edits.delete("ada", room.id, first.id) == tombstone
    assert len(world.broadcaster.of("message:deleted")) == 1
    with pytest.raises(MessageGone):
        await edits.edit("ada", room.id, first.id, "back")
    page = await world.chat.messages("bob", room.id, after=0)
    assert [(m.seq, m.deleted, m.body) for m in page.items] == [(1, True, ""), (2, False, "two")]


@pytest.mark.parametrize("body", ["", "   ", "x" * 4001])
async def test_a_bad_body_is_refused(world: ChatWorld, edits: MessageEdits, body: str) -> None:
    room = await a_room(world)
    sent = (await world.chat.send("ada", room.id, "one")).message
    with pytest.raises(InvalidInput):
        await edits.edit("ada", room.id, sent.id, body)
