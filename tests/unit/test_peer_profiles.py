"""PeerProfiles: the public profiles of the users who share a room with the caller."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

import pytest

from adapters.memory.chat import MemoryRoomRepository
from adapters.memory.users import MemoryUserRepository
from domain.auth.model import PROFILES_ASKED_MAX, PublicProfile, User
from domain.auth.profile import PeerProfiles
from domain.chat.model import Room

pytestmark = pytest.mark.unit

AT = datetime(2026, 12, 1, tzinfo=UTC)


def a_user(user_id: str, name: str) -> User:
    return User(user_id, f"{user_id}@example.com", name, "hash", True, AT, AT)


class CountingUsers(MemoryUserRepository):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[list[str]] = []

    async def get_many(self, user_ids: Collection[str]) -> list[User]:
        self.reads.append(list(user_ids))
        return await super().get_many(user_ids)


class CountingRooms(MemoryRoomRepository):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def for_member(self, user_id: str) -> list[Room]:
        self.reads += 1
        return await super().for_member(user_id)


@pytest.fixture
async def world() -> tuple[PeerProfiles, CountingUsers, CountingRooms]:
    users, rooms = CountingUsers(), CountingRooms()
    for user_id, name in (("ada", "Ada"), ("bob", "Bob"), ("cy", "Cy"), ("eve", "Eve")):
        await users.add(a_user(user_id, name))
    await rooms.add(Room("r1", "General", ("ada", "bob"), False, AT))
    await rooms.add(Room("r2", "Side", ("cy", "ada"), False, AT))
    await rooms.add(Room("r3", "Elsewhere", ("eve", "bob"), False, AT))
    return PeerProfiles(users, rooms), users, rooms


async def test_room_mates_and_the_caller_are_answered_others_left_out(
    world: tuple[PeerProfiles, CountingUsers, CountingRooms],
) -> None:
    profiles, users, rooms = world

    found = await profiles.related("ada", ["eve", "bob", "ghost", "ada", "cy", "bob"])

    assert found == [
        PublicProfile("bob", "Bob"),
        PublicProfile("ada", "Ada"),
        PublicProfile("cy", "Cy"),
    ]
    assert rooms.reads == 1
    assert users.reads == [["bob", "ada", "cy"]]  # one read, only of related ids


async def test_a_caller_without_rooms_sees_only_themselves(
    world: tuple[PeerProfiles, CountingUsers, CountingRooms],
) -> None:
    profiles, users, _ = world
    await users.add(a_user("dan", "Dan"))

    assert await profiles.related("dan", ["dan", "ada", "bob"]) == [PublicProfile("dan", "Dan")]


async def test_nothing_asked_or_nothing_related_reads_no_users(
    world: tuple[PeerProfiles, CountingUsers, CountingRooms],
) -> None:
    profiles, users, rooms = world

    assert await profiles.related("ada", []) == []
    assert rooms.reads == 0
    assert await profiles.related("ada", ["eve", "ghost"]) == []
    assert users.reads == []


async def test_at_most_the_cap_is_looked_at(
    world: tuple[PeerProfiles, CountingUsers, CountingRooms],
) -> None:
    profiles, users, _ = world
    asked = [f"x{i}" for i in range(PROFILES_ASKED_MAX)] + ["bob"]

    assert await profiles.related("ada", asked) == []
    assert users.reads == []
