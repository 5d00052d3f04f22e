"""Invitations by email address: the same answer whether or not an account has the address,
answered only by the account that verified it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.chat.errors import InvalidInput
from domain.chat.model import email_hint, email_invitation_id
from domain.errors import Conflict, Forbidden, NotFound
from tests.unit.chat_fixtures import ChatWorld, build_chat_world

pytestmark = pytest.mark.unit


@pytest.fixture
def world() -> ChatWorld:
    return build_chat_world()


async def test_the_answer_is_the_same_whether_or_not_an_account_has_the_address(
    world: ChatWorld,
) -> None:
    ada, bob = await world.user("ada"), await world.user("bob")
    with_account = await world.chat.create_room(ada, "One")
    without = await world.chat.create_room(ada, "Two")
    a = await world.chat.invite_email(ada, with_account.id, " Bob@Example.com ")
    b = await world.chat.invite_email(ada, without.id, "nobody@example.com")
    for room in (a, b):
        assert room.member_ids == ("ada",) and room.invited_users == ()
        assert len(room.invited_emails) == 1
    assert email_hint(a.invited_emails[0]) == "b\u2026@example.com"
    assert email_hint(b.invited_emails[0]) == "n\u2026@example.com"
    # neither the address nor the account's id is in what the room shows
    for invitee in (*a.invited_emails, *b.invited_emails):
        assert "bob@" not in invitee and "nobody@" not in invitee and bob not in invitee
    # the account hears it; nobody else does, and the room's members see only a room:updated
    assert [e.to for e in world.broadcaster.of("room:invited")] == ["user:bob"]


async def test_the_verified_account_lists_accepts_and_the_invitation_goes(
    world: ChatWorld,
) -> None:
    ada, bob = await world.user("ada"), await world.user("bob")
    room = await world.chat.create_room(ada, "General")
    await world.chat.invite_email(ada, room.id, "bob@example.com")
    assert [r.id for r in await world.chat.invitations(bob)] == [room.id]
    joined = await world.chat.accept(bob, room.id)
    assert joined.member_ids == ("ada", "bob") and joined.invited_ids == ()
    assert await world.chat.invitations(bob) == []
    assert await world.chat.accept(bob, room.id) == joined  # a second tab: nothing changes


async def test_an_address_invited_before_its_account_exists_is_answered_once_verified(
    world: ChatWorld,
) -> None:
    ada = await world.user("ada")
    room = await world.chat.create_room(ada, "General")
    await world.chat.invite_email(ada, room.id, "newbie@example.com")
    newbie = await world.user("newbie")
    user = await world.users.get(newbie)
    assert user is not None
    await world.users.save(replace(user, email_verified=False))
    # an unverified account is not the address's owner yet: it could be a squatter's
    assert await world.chat.invitations(newbie) == []
    with pytest.raises(NotFound):
        await world.chat.accept(newbie, room.id)
    with pytest.raises(NotFound):
        await world.chat.decline(newbie, room.id)
    await world.users.save(user)  # verified
    assert [r.id for r in await world.chat.invitations(newbie)] == [room.id]
    await world.chat.decline(newbie, room.id)
    after = await world.rooms.get(room.id)
    assert after is not None and after.invited_ids == ()
    with pytest.raises(NotFound):
        await world.chat.accept(newbie, room.id)


async def test_the_creator_withdraws_it_by_its_id_and_no_one_else_can(world: ChatWorld) -> None:
    ada, bob = await world.user("ada"), await world.user("bob")
    room = await world.chat.create_room(ada, "General", [bob])
    await world.chat.accept(bob, room.id)
    invited = await world.chat.invite_email(bob, room.id, "cy@example.com")
    invitation = email_invitation_id(invited.invited_emails[0])
    assert invitation.startswith("email:") and "@" not in invitation
    with pytest.raises(Forbidden):
        await world.chat.remove_member(bob, room.id, invitation)
    with pytest.raises(NotFound):
        await world.chat.remove_member(ada, room.id, "email:not-one")
    after = await world.chat.remove_member(ada, room.id, invitation)
    assert after.invited_ids == ()


async def test_inviting_the_same_address_again_changes_nothing_and_bad_input_is_refused(
    world: ChatWorld,
) -> None:
    ada, _ = await world.user("ada"), await world.user("eve")
    room = await world.chat.create_room(ada, "General")
    first = await world.chat.invite_email(ada, room.id, "cy@example.com")
    assert await world.chat.invite_email(ada, room.id, "CY@example.com") == first
    with pytest.raises(InvalidInput):
        await world.chat.invite_email(ada, room.id, "not an address")
    with pytest.raises(NotFound):  # not Eve's room: like a room that does not exist
        await world.chat.invite_email("eve", room.id, "cy@example.com")


async def test_an_address_has_at_most_the_pending_cap_waiting(world: ChatWorld) -> None:
    world = build_chat_world(replace(world.chat.policy, invitations_pending_max=2))
    ada = await world.user("ada")
    rooms = [await world.chat.create_room(ada, f"R{n}") for n in range(3)]
    for room in rooms[:2]:
        await world.chat.invite_email(ada, room.id, "cy@example.com")
    with pytest.raises(Conflict):
        await world.chat.invite_email(ada, rooms[2].id, "cy@example.com")


async def test_deleting_the_account_withdraws_what_waits_for_its_address(
    world: ChatWorld,
) -> None:
    ada, bob = await world.user("ada"), await world.user("bob")
    room = await world.chat.create_room(ada, "General")
    await world.chat.invite_email(ada, room.id, "bob@example.com")
    await world.chat.forget_user(bob)
    after = await world.rooms.get(room.id)
    assert after is not None and after.invited_ids == ()
