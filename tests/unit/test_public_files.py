"""FileService.set_public on memory adapters: only images, the copies and their quota, what a
failure on the way leaves (nothing public, the quota given back), and the events."""

from __future__ import annotations

import asyncio

import pytest

from adapters.memory.blobs import MemoryBlobStorage
from adapters.memory.clock import MemoryClock
from domain.files.errors import NotAnImage, QuotaExceeded
from domain.files.model import BlobInfo
from domain.files.service import FilePolicy, public_key
from tests.unit.files_fixtures import (
    GIF,
    JPEG,
    PDF,
    PNG,
    SECRET,
    TEXT,
    WEBP,
    FilesWorld,
    build_files_world,
    chunks_of,
)

pytestmark = pytest.mark.unit

ADA = "ada"


def public_keys(world: FilesWorld) -> list[str]:
    return [k for k in world.blobs._objects if k.startswith("public/")]


@pytest.mark.parametrize(
    ("data", "kind", "extension"),
    [(PNG, "image/png", "png"), (JPEG, "image/jpeg", "jpg"), (GIF, "image/gif", "gif"),
     (WEBP, "image/webp", "webp")],
)  # fmt: skip
async def test_each_image_type_gets_a_copy_under_a_new_random_key_each_time(
    data: bytes, kind: str, extension: str
) -> None:
    world = build_files_world()
    stored = await world.service.upload(ADA, "a", kind, chunks_of(data))

    public = await world.service.set_public(ADA, stored.id, True)

    assert public.public_token is not None
    assert len(public.public_token) >= 22  # 128 random bits
    key = public_key(public)
    assert key == f"public/{public.public_token}/{stored.id}.{extension}"
    assert await world.blobs.read(key, 0, len(data)) == data
    private = await world.service.set_public(ADA, stored.id, False)
    assert private.public_token is None
    again = await world.service.set_public(ADA, stored.id, True)
    assert again.public_token not in (None, public.public_token)
    assert public_keys(world) == [public_key(again)]
    assert world.events.names()[-3:] == ["file_public", "file_private", "file_public"]


@pytest.mark.parametrize(("data", "kind"), [(PDF, "application/pdf"), (TEXT, "text/plain")])
async def test_anything_but_an_image_is_refused_and_nothing_is_copied(
    data: bytes, kind: str
) -> None:
    world = build_files_world()
    stored = await world.service.upload(ADA, "a", kind, chunks_of(data))

    with pytest.raises(NotAnImage):
        await world.service.set_public(ADA, stored.id, True)

    assert public_keys(world) == []
    assert world.files._usage[ADA] == (len(data), 1)
    # making a non-image private is a no-op, not an error
    assert (await world.service.set_public(ADA, stored.id, False)).public_token is None


async def test_the_copy_counts_in_the_quota_and_is_given_back() -> None:
    world = build_files_world(FilePolicy(quota_bytes=2 * len(PNG)))
    stored = await world.service.upload(ADA, "a.png", "image/png", chunks_of(PNG))

    await world.service.set_public(ADA, stored.id, True)
    assert world.files._usage[ADA] == (2 * len(PNG), 1)  # bytes, not one more file
    await world.service.set_public(ADA, stored.id, True)  # already public: nothing more
    assert world.files._usage[ADA] == (2 * len(PNG), 1)
    await world.service.set_public(ADA, stored.id, False)
    assert world.files._usage[ADA] == (len(PNG), 1)

    small = build_files_world(FilePolicy(quota_bytes=2 * len(PNG) - 1))
    kept = await small.service.upload(ADA, "a.png", "image/png", chunks_of(PNG))
    with pytest.raises(QuotaExceeded):
        await small.service.set_public(ADA, kept.id, True)
    assert public_keys(small) == []
    assert small.files._usage[ADA] == (len(PNG), 1)


async def test_deleting_a_public_file_deletes_its_copy_and_gives_every_byte_back() -> None:
    world = build_files_world()
    stored = await world.service.upload(ADA, "a.png", "image/png", chunks_of(PNG))
    await world.service.set_public(ADA, stored.id, True)

    await world.service.delete(ADA, stored.id)

    assert world.blobs._objects == {}
    assert world.files._usage[ADA] == (0, 0)


class FailingPublish(MemoryBlobStorage):
    async def publish(self, key: str, public_key: str) -> BlobInfo | None:
        await super().publish(key, public_key)  # the copy is made, then the call fails
        raise ConnectionError("storage went away")


async def test_a_publish_failing_half_way_leaves_nothing_public_and_the_quota_as_it_was() -> None:
    world = build_files_world(blobs=FailingPublish(SECRET, MemoryClock()))
    stored = await world.service.upload(ADA, "a.png", "image/png", chunks_of(PNG))

    with pytest.raises(ConnectionError):
        await world.service.set_public(ADA, stored.id, True)

    assert public_keys(world) == []
    assert world.files._usage[ADA] == (len(PNG), 1)
    found = await world.files.get(stored.id)
    assert found is not None
    assert found.public_token is None


class SlowPublish(MemoryBlobStorage):
    """A copy that takes a while, so two requests really overlap."""

    async def publish(self, key: str, public_key: str) -> BlobInfo | None:
        await asyncio.sleep(0.01)
        return await super().publish(key, public_key)


async def test_two_requests_making_it_public_at_once_leave_one_copy_and_one_reservation() -> None:
    world = build_files_world(blobs=SlowPublish(SECRET, MemoryClock()))
    stored = await world.service.upload(ADA, "a.png", "image/png", chunks_of(PNG))

    first, second = await asyncio.gather(
        world.service.set_public(ADA, stored.id, True),
        world.service.set_public(ADA, stored.id, True),
    )

    assert first.public_token == second.public_token is not None
    assert public_keys(world) == [public_key(first)]
    assert world.files._usage[ADA] == (2 * len(PNG), 1)
    await asyncio.gather(
        world.service.set_public(ADA, stored.id, False),
        world.service.set_public(ADA, stored.id, False),
    )
    assert public_keys(world) == []
    assert world.files._usage[ADA] == (len(PNG), 1)
