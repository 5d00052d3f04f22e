"""Read state (domain/chat/reads.py through ChatService): marks move forward only and never
past the room's last message, a fast reader's marks are coalesced into few writes and
receipts, and a sender has read their own message."""

from __future__ import annotations

import asyncio

import pytest

from domain.chat.errors import InvalidInput
from domain.chat.model import Room
from domain.errors import NotFound
from tests.unit.chat_fixtures import ChatWorld, build_chat_world

pytestmark = pytest.mark.unit


@pytest.fixture
def world() -> ChatWorld:
    return build_chat_world()


async def a_room_with_messages(world: ChatWorld, count: int) -> Room:
    ada, bob = await world.user("ada"), await world.user("bob")
    room = await world.chat.create_room(ada, "General", [bob])
    await world.chat.accept(bob, room.id)
    for n in range(count):
        await world.chat.send(ada, room.id, f"m{n}")
    found = await world.rooms.get(room.id)
    assert found is not None
    return found


def receipts(world: ChatWorld, user_id: str) -> list[int]:
    return [e.data["seq"] for e in world.broadcaster.of("receipt") if e.data["user_id"] == user_id]


async def test_unread_counts_follow_the_marks_which_never_move_back_or_past_the_end(
    world: ChatWorld,
) -> None:
    room = await a_room_with_messages(world, 5)
    states = await world.chat.read_states("bob", [room])
    assert (states[room.id].last_read_seq, states[room.id].unread_count) == (0, 5)
    assert (await world.chat.read_states("ada", [room]))[room.id].unread_count == 0  # her own

    read = await world.chat.mark_read("bob", room.id, 3)
    assert (read.last_read_seq, read.unread_count) == (3, 2)
    world.clock.advance(3)
    assert (await world.chat.mark_read("bob", room.id, 1)).last_read_seq == 3  # not backwards
    assert (await world.chat.mark_read("bob", room.id, 99)).last_read_seq == 5  # the last one
    with pytest.raises(InvalidInput):
        await world.chat.mark_read("bob", room.id, -1)
    eve = await world.user("eve")
    with pytest.raises(NotFound):
        await world.chat.mark_read(eve, room.id, 1)
    assert await world.chat.receipts("bob", room.id) == {"ada": 5, "bob": 5}


async def test_a_fast_reader_costs_one_write_now_and_one_trailing_write(world: ChatWorld) -> None:
    room = await a_room_with_messages(world, 10)
    for seq in range(1, 11):  # a mark per message, as fast as they arrive
        await world.chat.mark_read("bob", room.id, seq)
    assert receipts(world, "bob") == [1]  # the first at once
    assert (await world.chat.read_states("bob", [room]))[room.id].last_read_seq == 10
    for _ in range(60):  # the trailing write, 2 s after the first (real time: its timer)
        if len(receipts(world, "bob")) > 1:
            break
        await asyncio.sleep(0.05)
    assert receipts(world, "bob") == [1, 10]  # the rest coalesced into one write and receipt
    assert (await world.chat.read_states("bob", [room]))[room.id].last_read_seq == 10
