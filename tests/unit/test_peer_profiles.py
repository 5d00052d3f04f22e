"""PeerProfiles: the public profiles of the users who share a room with the caller, their
avatars included (one files read for the whole answer)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from adapters.memory.chat import MemoryRoomRepository
from adapters.memory.files import MemoryFileRepository
from adapters.memory.users import MemoryUserRepository
from domain.auth.avatars import Avatars
from domain.auth.model import PROFILES_ASKED_MAX, PublicProfile, User
from domain.auth.profile import PeerProfiles
from domain.chat.model import Room
from domain.files.model import StoredFile
from tests.support.images import png
from tests.unit.files_fixtures import FilesWorld, build_files_world, chunks_of

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


class CountingFiles(MemoryFileRepository):
    def __init__(self, files: MemoryFileRepository) -> None:
        self.__dict__.update(files.__dict__)  # the same records as the service's repository
        self.reads: list[list[str]] = []

    async def get_many(self, file_ids: Sequence[str]) -> dict[str, StoredFile]:
        self.reads.append(list(file_ids))
        return await super().get_many(file_ids)


@pytest.fixture
def files_world() -> FilesWorld:
    return build_files_world()


@pytest.fixture
async def world(files_world: FilesWorld) -> tuple[PeerProfiles, CountingUsers, CountingRooms]:
    users, rooms = CountingUsers(), CountingRooms()
    for user_id, name in (("ada", "Ada"), ("bob", "Bob"), ("cy", "Cy"), ("eve", "Eve")):
        await users.add(a_user(user_id, name))
    await rooms.add(Room("r1", "General", ("ada", "bob"), False, AT))
    await rooms.add(Room("r2", "Side", ("cy", "ada"), False, AT))
    await rooms.add(Room("r3", "Elsewhere", ("eve", "bob"), False, AT))
    profiles = PeerProfiles(users, rooms, Avatars(files_world.service), rooms.invited_to)
    return profiles, users, rooms


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


async def avatar_of(world: FilesWorld, users: CountingUsers, user_id: str, name: str) -> str:
    """`user_id` uploads an image and chooses it as their avatar; its public URL (256 px)."""
    record = await world.service.upload(user_id, name, None, chunks_of(png(600, 400)))
    token = await Avatars(world.service).publish(user_id, record.id)
    user = await users.get(user_id)
    assert user is not None
    await users.save(user.with_avatar(record.id, token, AT))
    published = await world.service.get(user_id, record.id)
    assert published.public_token == token
    return world.blobs.public_url(f"public/{token}/{record.id}-256.webp")


async def test_avatars_of_a_page_take_one_files_read(
    world: tuple[PeerProfiles, CountingUsers, CountingRooms], files_world: FilesWorld
) -> None:
    profiles, users, _ = world
    bob_url = await avatar_of(files_world, users, "bob", "bob.png")
    cy_url = await avatar_of(files_world, users, "cy", "cy.png")
    counting = CountingFiles(files_world.files)
    files_world.service._files = counting

    found = await profiles.related("ada", ["bob", "ada", "cy"])

    assert found == [
        PublicProfile("bob", "Bob", bob_url),
        PublicProfile("ada", "Ada"),
        PublicProfile("cy", "Cy", cy_url),
    ]
    assert len(counting.reads) == 1  # one read for the page, not one per user
    assert await profiles.related("ada", ["ada"]) == [PublicProfile("ada", "Ada")]
    assert len(counting.reads) == 1  # nobody with an avatar: no files read at all


async def test_an_avatar_whose_file_is_gone_or_private_is_absent(
    world: tuple[PeerProfiles, CountingUsers, CountingRooms], files_world: FilesWorld
) -> None:
    profiles, users, _ = world
    await avatar_of(files_world, users, "bob", "bob.png")
    await avatar_of(files_world, users, "cy", "cy.png")
    bob, cy = await users.get("bob"), await users.get("cy")
    assert bob is not None and cy is not None and bob.avatar_file_id and cy.avatar_file_id
    service = files_world.service

    await service.set_public("bob", bob.avatar_file_id, False)
    await service.delete("cy", cy.avatar_file_id)
    found = await profiles.related("ada", ["bob", "cy"])
    assert found == [PublicProfile("bob", "Bob"), PublicProfile("cy", "Cy")]

    # public again (a new token, maybe for a page): not the avatar until chosen again
    await service.set_public("bob", bob.avatar_file_id, True)
    assert await profiles.related("ada", ["bob"]) == [PublicProfile("bob", "Bob")]


async def test_a_file_of_someone_else_never_shows_as_an_avatar(
    world: tuple[PeerProfiles, CountingUsers, CountingRooms], files_world: FilesWorld
) -> None:
    """A record pointing at another user's public image (a store edited by hand, an id
    reused) still shows nothing: the owner is checked at every read."""
    profiles, users, _ = world
    await avatar_of(files_world, users, "cy", "cy.png")
    cy, bob = await users.get("cy"), await users.get("bob")
    assert cy is not None and bob is not None
    await users.save(replace(bob, avatar_file_id=cy.avatar_file_id, avatar_token=cy.avatar_token))

    assert await profiles.related("ada", ["bob"]) == [PublicProfile("bob", "Bob")]
