"""ChatService: rooms, membership, ordered idempotent messages, pages, typing, presence and the
simulated peer, on memory adapters."""

from __future__ import annotations

import asyncio

import pytest

from domain.chat.errors import InvalidInput
from domain.chat.model import Message, Room, is_peer
from domain.chat.service import ChatPolicy
from domain.errors import (
    Conflict,
    Forbidden,
    InvalidCursor,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
)
from tests.unit.chat_fixtures import ChatWorld, build_chat_world

pytestmark = pytest.mark.unit


@pytest.fixture
def world() -> ChatWorld:
    return build_chat_world()


async def two_users_room(world: ChatWorld) -> Room:
    """Ada's room, Bob invited and accepted."""
    ada, bob = await world.user("ada"), await world.user("bob")
    room = await world.chat.create_room(ada, "General", [bob])
    return await world.chat.accept(bob, room.id)


async def test_a_room_has_its_creator_and_invites_the_others_who_join_when_they_accept(
    world: ChatWorld,
) -> None:
    ada, bob = await world.user("ada"), await world.user("bob")
    room = await world.chat.create_room(ada, "General", [bob])
    assert (room.member_ids, room.invited_ids, room.creator_id) == (("ada",), ("bob",), "ada")
    assert room.last_seq == 0
    assert [e.to for e in world.broadcaster.of("room:added")] == ["user:ada"]
    assert [e.to for e in world.broadcaster.of("room:invited")] == ["user:bob"]
    assert await world.chat.rooms(bob) == []  # not in it before accepting
    assert [r.id for r in await world.chat.invitations(bob)] == [room.id]
    with pytest.raises(NotFound):
        await world.chat.send(bob, room.id, "let me in")

    joined = await world.chat.accept(bob, room.id)
    assert (joined.member_ids, joined.invited_ids) == (("ada", "bob"), ())
    assert world.broadcaster.of("room:added")[-1].to == "user:bob"
    added = world.broadcaster.of("room:member_added")
    assert [(e.data, e.to) for e in added] == [
        ({"room_id": room.id, "user_id": "bob"}, f"room:{room.id}")
    ]
    assert [r.id for r in await world.chat.rooms("bob")] == [room.id]
    assert await world.chat.invitations(bob) == []
    assert (await world.chat.accept(bob, room.id)).member_ids == ("ada", "bob")  # again: same


async def test_a_declined_invitation_leaves_nothing_and_cannot_be_accepted(
    world: ChatWorld,
) -> None:
    ada, bob = await world.user("ada"), await world.user("bob")
    room = await world.chat.create_room(ada, "General", [bob])
    await world.chat.decline(bob, room.id)
    assert (await world.rooms.get(room.id)).invited_ids == ()  # type: ignore[union-attr]
    assert world.broadcaster.of("room:updated")[-1].data.invited_ids == ()
    for attempt in (world.chat.accept(bob, room.id), world.chat.decline(bob, room.id)):
        with pytest.raises(NotFound):
            await attempt
    with pytest.raises(Conflict):  # Ada is a member: she leaves, she does not decline
        await world.chat.decline(ada, room.id)


async def test_a_member_leaves_and_the_creator_removes(world: ChatWorld) -> None:
    room = await two_users_room(world)
    cy = await world.user("cy")
    await world.chat.invite("bob", room.id, cy)
    await world.chat.accept(cy, room.id)
    with pytest.raises(Forbidden):
        await world.chat.remove_member("bob", room.id, cy)  # only the creator removes
    await world.chat.leave("bob", room.id)
    after = await world.chat.remove_member("ada", room.id, cy)
    assert after.member_ids == ("ada",)
    left = [e.data for e in world.broadcaster.of("room:member_left")]
    assert left == [{"room_id": room.id, "user_id": u} for u in ("bob", "cy")]
    for gone in ("bob", "cy"):
        with pytest.raises(NotFound):
            await world.chat.send(gone, room.id, "still here?")
    with pytest.raises(NotFound):
        await world.chat.leave("bob", room.id)


async def test_the_creator_withdraws_an_invitation(world: ChatWorld) -> None:
    ada, bob = await world.user("ada"), await world.user("bob")
    room = await world.chat.create_room(ada, "General", [bob])
    assert (await world.chat.remove_member(ada, room.id, bob)).invited_ids == ()
    with pytest.raises(NotFound):
        await world.chat.accept(bob, room.id)


async def test_rooms_and_invitations_are_capped_per_user_and_per_hour() -> None:
    policy = ChatPolicy(rooms_per_hour=3, invitations_per_hour=4, invitations_pending_max=2)
    world = build_chat_world(policy)
    ada, bob, cy = await world.user("ada"), await world.user("bob"), await world.user("cy")
    rooms = [await world.chat.create_room(ada, f"r{i}") for i in range(3)]
    with pytest.raises(TooManyRequests):
        await world.chat.create_room(ada, "one too many")
    await world.chat.invite(ada, rooms[0].id, bob)
    await world.chat.invite(ada, rooms[1].id, bob)
    with pytest.raises(Conflict):  # two waiting for Bob: the most
        await world.chat.invite(ada, rooms[2].id, bob)
    await world.chat.invite(ada, rooms[2].id, cy)
    with pytest.raises(TooManyRequests):  # Ada's fourth invitation this hour was refused above
        await world.chat.invite(ada, rooms[1].id, cy)
    world.clock.advance(3600)
    await world.chat.invite(ada, rooms[1].id, cy)  # a new hour


async def test_the_rooms_list_is_paginated_oldest_first(world: ChatWorld) -> None:
    ada = await world.user("ada")
    made = []
    for i in range(5):
        made.append((await world.chat.create_room(ada, f"r{i}")).id)
        world.clock.advance(1)
    first, cursor = await world.chat.rooms_page(ada, 2)
    second, cursor2 = await world.chat.rooms_page(ada, 2, cursor)
    third, end = await world.chat.rooms_page(ada, 2, cursor2)
    assert [r.id for r in first + second + third] == made
    assert end is None
    with pytest.raises(InvalidCursor):
        await world.chat.rooms_page(ada, 2, "not-a-room-of-hers")


async def test_an_unknown_member_or_a_bad_name_creates_nothing(world: ChatWorld) -> None:
    ada = await world.user("ada")
    with pytest.raises(NotFound):
        await world.chat.create_room(ada, "General", ["ghost"])
    with pytest.raises(InvalidInput):
        await world.chat.create_room(ada, " ", [])
    with pytest.raises(InvalidInput):
        await world.chat.create_room(ada, "x" * 101, [])
    assert await world.chat.rooms(ada) == []


async def test_a_non_member_sees_no_room_at_all(world: ChatWorld) -> None:
    room = await two_users_room(world)
    eve = await world.user("eve")
    for attempt in (
        world.chat.messages(eve, room.id),
        world.chat.send(eve, room.id, "hi"),
        world.chat.invite(eve, room.id, eve),
        world.chat.leave(eve, room.id),
        world.chat.remove_member(eve, room.id, "bob"),
        world.runtime.typing(eve, room.id, True),
        world.chat.room(eve, room.id),
    ):
        with pytest.raises(NotFound):
            await attempt
    assert world.broadcaster.of("message:new") == []


async def test_a_member_invites_and_the_invitee_hears_it(world: ChatWorld) -> None:
    room = await two_users_room(world)
    cy = await world.user("cy")
    updated = await world.chat.invite("bob", room.id, cy)
    assert (updated.member_ids, updated.invited_ids) == (("ada", "bob"), ("cy",))
    assert world.broadcaster.of("room:invited")[-1].to == "user:cy"
    assert world.broadcaster.of("room:updated")[-1].to == f"room:{room.id}"
    assert await world.chat.invite("ada", room.id, cy) == updated  # again: nothing changes
    with pytest.raises(NotFound):
        await world.chat.invite("bob", room.id, "ghost")


async def test_seq_starts_at_one_and_grows_by_one_per_message(world: ChatWorld) -> None:
    room = await two_users_room(world)
    sent = [await world.chat.send(u, room.id, f"m{i}") for i, u in enumerate(["ada", "bob"] * 3)]
    assert [s.message.seq for s in sent] == [1, 2, 3, 4, 5, 6]
    assert (await world.rooms.get(room.id)) is not None
    delivered = [e.data.seq for e in world.broadcaster.of("message:new")]
    assert delivered == [1, 2, 3, 4, 5, 6]


async def test_concurrent_senders_leave_no_gap_and_no_duplicate(world: ChatWorld) -> None:
    room = await two_users_room(world)
    world.chat._policy = ChatPolicy(messages_per_window=1000)
    await asyncio.gather(
        *(world.chat.send(("ada", "bob")[i % 2], room.id, f"m{i}") for i in range(50))
    )
    page = await world.chat.messages("ada", room.id, limit=100)
    assert [m.seq for m in page.items] == list(range(1, 51))
    assert len(world.turns) == 0  # no lock kept for an idle room
    assert [e.data.seq for e in world.broadcaster.of("message:new")] == list(range(1, 51))


async def test_a_send_waiting_too_long_for_its_rooms_turn_is_refused_not_queued(
    world: ChatWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = await two_users_room(world)
    world.chat._policy = ChatPolicy(send_wait_s=0.05)
    numbering = world.rooms.next_seq

    async def slow_next_seq(room_id: str) -> int:
        await asyncio.sleep(0.2)  # a store that has become slow
        return await numbering(room_id)

    monkeypatch.setattr(world.rooms, "next_seq", slow_next_seq)
    first = asyncio.create_task(world.chat.send("ada", room.id, "first"))
    await asyncio.sleep(0.01)
    with pytest.raises(ServiceUnavailable):
        await world.chat.send("bob", room.id, "second")
    assert (await first).message.seq == 1
    page = await world.chat.messages("ada", room.id)
    assert [m.body for m in page.items] == ["first"]


async def test_the_same_client_id_answers_the_first_message(world: ChatWorld) -> None:
    room = await two_users_room(world)
    first = await world.chat.send("ada", room.id, "hello", client_id="c-1")
    again = await world.chat.send("ada", room.id, "hello again", client_id="c-1")
    other_sender = await world.chat.send("bob", room.id, "hello", client_id="c-1")
    assert first.created and not again.created and other_sender.created
    assert again.message == first.message
    assert other_sender.message.seq == 2
    assert len(world.broadcaster.of("message:new")) == 2


async def test_message_bodies_are_1_to_4000_characters(world: ChatWorld) -> None:
    room = await two_users_room(world)
    for body in ("", "   ", "x" * 4001):
        with pytest.raises(InvalidInput):
            await world.chat.send("ada", room.id, body)
    assert (await world.chat.send("ada", room.id, "x" * 4000)).message.seq == 1


async def test_more_than_20_messages_in_10_s_are_refused(world: ChatWorld) -> None:
    room = await two_users_room(world)
    for i in range(20):
        await world.chat.send("ada", room.id, f"m{i}")
    with pytest.raises(TooManyRequests):
        await world.chat.send("ada", room.id, "one too many")
    await world.chat.send("bob", room.id, "bob is not limited by ada")
    world.clock.advance(10)
    await world.chat.send("ada", room.id, "later")


async def test_pages_go_back_with_before_and_forward_with_after(world: ChatWorld) -> None:
    room = await two_users_room(world)
    world.chat._policy = ChatPolicy(messages_per_window=1000)
    for i in range(12):
        await world.chat.send("ada", room.id, f"m{i}")
    latest = await world.chat.messages("bob", room.id, limit=5)
    assert [m.seq for m in latest.items] == [8, 9, 10, 11, 12]
    assert latest.next_before == 8
    older = await world.chat.messages("bob", room.id, limit=5, before=latest.next_before)
    assert [m.seq for m in older.items] == [3, 4, 5, 6, 7]
    oldest = await world.chat.messages("bob", room.id, limit=5, before=older.next_before)
    assert [m.seq for m in oldest.items] == [1, 2]
    assert oldest.next_before is None
    caught_up = await world.chat.messages("bob", room.id, limit=5, after=9)
    assert [m.seq for m in caught_up.items] == [10, 11, 12]
    with pytest.raises(InvalidInput):
        await world.chat.messages("bob", room.id, limit=101)


async def test_typing_is_told_once_and_repeats_within_a_second_are_absorbed(
    world: ChatWorld,
) -> None:
    room = await two_users_room(world)
    await world.runtime.typing("ada", room.id, True)
    world.clock.advance(0.5)
    await world.runtime.typing("ada", room.id, True)
    await world.runtime.typing("ada", room.id, True)
    assert [e.data["is_typing"] for e in world.broadcaster.of("typing")] == [True]
    world.clock.advance(1.0)
    await world.runtime.typing("ada", room.id, True)  # renews the state, tells nobody
    assert world.runtime.is_typing(room.id, "ada")
    await world.runtime.typing("ada", room.id, False)
    assert [e.data["is_typing"] for e in world.broadcaster.of("typing")] == [True, False]


async def test_typing_that_is_not_renewed_ends_by_itself() -> None:
    world = build_chat_world(ChatPolicy(typing_ttl_s=1))
    room = await two_users_room(world)
    await world.runtime.typing("ada", room.id, True)
    await asyncio.sleep(1.2)  # the timer fires on the loop's clock
    await world.tasks.drain(1)
    assert [e.data["is_typing"] for e in world.broadcaster.of("typing")] == [True, False]


async def test_presence_is_online_at_the_first_socket_and_offline_after_the_last(
    world: ChatWorld,
) -> None:
    room = await two_users_room(world)
    assert [r.id for r in await world.runtime.connected("ada")] == [room.id]
    await world.runtime.connected("ada")
    assert await world.chat.presence("bob", ["ada", "bob"]) == {"ada": "online", "bob": "offline"}
    await world.runtime.disconnected("ada")
    assert await world.chat.presence("bob", ["ada"]) == {"ada": "online"}
    await world.runtime.disconnected("ada")
    assert await world.chat.presence("bob", ["ada"]) == {"ada": "offline"}
    statuses = [e.data["status"] for e in world.broadcaster.of("presence")]
    assert statuses == ["online", "offline"]


async def test_presence_answers_only_for_users_sharing_a_room(world: ChatWorld) -> None:
    await two_users_room(world)
    eve = await world.user("eve")
    await world.runtime.connected(eve)
    assert await world.chat.presence("ada", ["bob", "eve", "ghost"]) == {"bob": "offline"}


async def test_presence_tells_the_peers_only_the_transitions(world: ChatWorld) -> None:
    await two_users_room(world)
    for _ in range(3):
        await world.runtime.connected("ada")
    await world.runtime.connected("bob")
    for _ in range(3):
        await world.runtime.disconnected("ada")
    assert world.cluster.told == [("online", "ada"), ("online", "bob"), ("offline", "ada")]


async def test_a_user_online_on_another_instance_stays_online_here(world: ChatWorld) -> None:
    room = await two_users_room(world)
    world.presence.peer_online("instance-b", "bob", world.clock.monotonic())
    await world.runtime.connected("bob")  # bob's second place: the room knew already
    await world.runtime.disconnected("bob")
    assert await world.chat.presence("ada", ["bob"]) == {"bob": "online"}
    assert not world.broadcaster.of("presence")
    await world.chat.users_gone(world.presence.peer_gone("instance-b"))  # B died
    offline = [(e.data, e.to) for e in world.broadcaster.of("presence")]
    assert offline == [({"user_id": "bob", "status": "offline"}, f"room:{room.id}")]
    assert await world.chat.presence("ada", ["bob"]) == {"bob": "offline"}


async def test_the_simulated_peer_types_then_replies_with_the_next_seq() -> None:
    world = build_chat_world(ChatPolicy(peer_typing_min_s=0.01, peer_typing_max_s=0.02))
    ada = await world.user("ada")
    room = await world.chat.create_room(ada, "Sim", simulated=True)
    peer = room.peer_id
    assert peer is not None and is_peer(peer) and room.has_member(peer)
    await world.chat.send(ada, room.id, "Tell me about sailing boats")
    await world.tasks.drain(2)
    sent: list[Message] = [e.data for e in world.broadcaster.of("message:new")]
    assert [(m.sender_id, m.seq) for m in sent] == [(ada, 1), (peer, 2)]
    assert sent[1].body != sent[0].body
    typing = [(e.data["user_id"], e.data["is_typing"]) for e in world.broadcaster.of("typing")]
    assert typing == [(peer, True), (peer, False)]
    assert await world.chat.presence(ada, [peer]) == {peer: "online"}


async def test_the_peer_is_deterministic_given_its_seed_and_not_an_echo() -> None:
    from domain.chat.peer import reply

    a = reply(16, "room", 1, "Tell me about sailing boats")
    assert a == reply(16, "room", 1, "Tell me about sailing boats")
    assert len({reply(16, "room", seq, "Tell me about sailing boats") for seq in range(10)}) > 3
    assert a != "Tell me about sailing boats"


async def test_a_newcomer_hears_who_is_online_and_the_room_hears_the_newcomer(
    world: ChatWorld,
) -> None:
    ada, bob, cy = await world.user("ada"), await world.user("bob"), await world.user("cy")
    room = await world.chat.create_room(ada, "General", [bob, cy])
    await world.chat.accept(bob, room.id)
    for user in (ada, cy):  # Ada and Cy are online; Bob is not
        await world.chat.socket_connected(user)
    before = len(world.broadcaster.of("presence"))
    await world.chat.accept(cy, room.id)
    told = [(e.data, e.to) for e in world.broadcaster.of("presence")[before:]]
    assert told == [
        ({"user_id": "ada", "status": "online"}, "user:cy"),  # the snapshot: Ada, not Bob
        ({"user_id": "cy", "status": "online"}, f"room:{room.id}"),
    ]
