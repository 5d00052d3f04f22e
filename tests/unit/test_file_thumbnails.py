"""FileService's thumbnails on memory adapters and real Pillow: made on both upload paths,
stored beside the original, counted in the quota, deleted with the file; a bad image or a
failing thumbnailer never fails the upload."""

from __future__ import annotations

import io
from collections.abc import AsyncIterable, Iterator
from dataclasses import dataclass, field

import pytest
from PIL import Image

from domain.files.model import (
    THUMBNAIL_SPECS,
    FileStatus,
    StoredFile,
    ThumbnailImage,
    ThumbnailSpec,
)
from domain.files.service import FilePolicy, FileService, thumbnail_key, thumbnail_name
from tests.support.images import jpeg_with_gps_rotated, png, png_bomb
from tests.unit.files_fixtures import PDF, FilesWorld, build_files_world, chunks_of

pytestmark = pytest.mark.unit

ADA = "ada-id"
PHOTO = png(1600, 1200)


@pytest.fixture
def world() -> FilesWorld:
    return build_files_world()


def usage(world: FilesWorld, owner: str = ADA) -> tuple[int, int]:
    return world.files._usage.get(owner, (0, 0))


def thumbnail_keys(record: StoredFile) -> Iterator[str]:
    return (thumbnail_key(record, spec.size) for spec in THUMBNAIL_SPECS)


async def stored(world: FilesWorld, key: str) -> bytes | None:
    info = await world.blobs.head(key)
    return None if info is None else await world.blobs.read(key, 0, info.size)


async def test_an_uploaded_image_gets_every_size_stored_beside_it_and_counted(
    world: FilesWorld,
) -> None:
    record = await world.service.upload(ADA, "holiday.png", "image/png", chunks_of(PHOTO))

    assert [(t.size, t.width, t.height) for t in record.thumbnails] == [
        (1024, 1024, 768), (256, 256, 192), (64, 64, 64)
    ]  # fmt: skip
    assert await world.files.get(record.id) == record
    for thumb in record.thumbnails:
        key = thumbnail_key(record, thumb.size)
        assert key == f"thumbs/{ADA}/{record.id}/{thumb.size}.webp"
        data = await stored(world, key)
        assert data is not None
        assert len(data) == thumb.bytes
        assert Image.open(io.BytesIO(data)).size == (thumb.width, thumb.height)
        info = await world.blobs.head(key)
        assert info is not None
        assert info.content_type == "image/webp"
    assert record.thumbnail_bytes > 0
    assert usage(world) == (len(PHOTO) + record.thumbnail_bytes, 1)

    download = await world.service.download(ADA, record.id)
    assert [t for t, _ in download.thumbnails] == list(record.thumbnails)
    assert all(url.startswith("/api/v1/files/blob/") for _, url in download.thumbnails)


async def test_a_direct_upload_gets_its_thumbnails_when_it_is_completed(
    world: FilesWorld,
) -> None:
    source = jpeg_with_gps_rotated(800, 400)
    ticket = await world.service.start_upload(ADA, "me.jpg", len(source), "image/jpeg")
    assert ticket.file.thumbnails == ()
    token = ticket.upload.url.rsplit("/", 1)[1]
    await world.blobs.accept_upload(token, ticket.upload.fields, chunks_of(source))

    ready = await world.service.complete(ADA, ticket.file.id)

    assert ready.status is FileStatus.READY
    assert [(t.size, t.width, t.height) for t in ready.thumbnails] == [
        (256, 128, 256),
        (64, 64, 64),
    ]
    assert await world.files.get(ready.id) == ready
    assert usage(world) == (len(source) + ready.thumbnail_bytes, 1)
    assert await world.service.complete(ADA, ready.id) == ready  # again: nothing more reserved
    assert usage(world) == (len(source) + ready.thumbnail_bytes, 1)


async def test_deleting_removes_the_thumbnails_and_gives_all_the_bytes_back(
    world: FilesWorld,
) -> None:
    record = await world.service.upload(ADA, "a.png", None, chunks_of(PHOTO))
    assert record.thumbnails

    await world.service.delete(ADA, record.id)

    assert [await world.blobs.head(k) for k in thumbnail_keys(record)] == [None] * 3
    assert world.blobs._objects == {}
    assert usage(world) == (0, 0)


async def test_the_sweep_removes_thumbnails_left_by_an_interrupted_complete(
    world: FilesWorld,
) -> None:
    ticket = await world.service.start_upload(ADA, "a.png", len(PHOTO), "image/png")
    left = thumbnail_key(ticket.file, 256)
    await world.blobs.put(left, chunks_of(b"webp"), "image/webp", 10)
    world.clock.advance(3600)

    assert await world.service.sweep_expired_uploads() == 1

    assert await world.blobs.head(left) is None
    assert usage(world) == (0, 0)


async def test_a_quota_with_room_for_the_image_but_not_its_thumbnails_keeps_the_image() -> None:
    world = build_files_world(FilePolicy(quota_bytes=len(PHOTO) + 10))

    record = await world.service.upload(ADA, "a.png", None, chunks_of(PHOTO))

    assert record.status is FileStatus.READY
    assert record.thumbnails == ()
    assert usage(world) == (len(PHOTO), 1)
    assert set(world.blobs._objects) == {record.object_key}


async def test_a_direct_upload_without_room_for_thumbnails_is_ready_without_them() -> None:
    world = build_files_world(FilePolicy(quota_bytes=len(PHOTO) + 10))
    ticket = await world.service.start_upload(ADA, "a.png", len(PHOTO), "image/png")
    token = ticket.upload.url.rsplit("/", 1)[1]
    await world.blobs.accept_upload(token, ticket.upload.fields, chunks_of(PHOTO))

    ready = await world.service.complete(ADA, ticket.file.id)

    assert (ready.status, ready.thumbnails) == (FileStatus.READY, ())
    assert usage(world) == (len(PHOTO), 1)
    assert set(world.blobs._objects) == {ready.object_key}


@pytest.mark.parametrize(
    "data",
    [PHOTO[: len(PHOTO) // 2], png_bomb(6000, 6000)],
    ids=["truncated", "decompression bomb"],
)
async def test_a_broken_or_hostile_image_is_stored_ready_without_thumbnails(
    world: FilesWorld, data: bytes
) -> None:
    record = await world.service.upload(ADA, "a.png", "image/png", chunks_of(data))

    assert (record.status, record.thumbnails) == (FileStatus.READY, ())
    assert await stored(world, record.object_key) == data
    assert set(world.blobs._objects) == {record.object_key}
    assert usage(world) == (len(data), 1)


@dataclass
class FailingThumbnailer:
    error: BaseException
    calls: list[int] = field(default_factory=list)

    async def thumbnails(
        self, data: bytes, specs: tuple[ThumbnailSpec, ...]
    ) -> list[ThumbnailImage]:
        self.calls.append(len(data))
        raise self.error


def with_thumbnailer(world: FilesWorld, thumbnailer: object) -> FileService:
    return FileService(
        files=world.files,
        blobs=world.blobs,
        limiter=world.limiter,
        tasks=world.tasks,
        clock=world.clock,
        ids=world.service._ids,
        events=world.events,
        thumbnailer=thumbnailer,  # type: ignore[arg-type]
    )


async def test_a_thumbnailer_that_fails_never_fails_the_upload(world: FilesWorld) -> None:
    failing = FailingThumbnailer(RuntimeError("boom"))
    service = with_thumbnailer(world, failing)

    record = await service.upload(ADA, "a.png", None, chunks_of(PHOTO))

    assert failing.calls == [len(PHOTO)]
    assert (record.status, record.thumbnails) == (FileStatus.READY, ())
    assert usage(world) == (len(PHOTO), 1)


async def test_files_that_are_not_images_are_never_given_to_the_thumbnailer(
    world: FilesWorld,
) -> None:
    failing = FailingThumbnailer(AssertionError("not an image"))
    service = with_thumbnailer(world, failing)

    record = await service.upload(ADA, "a.pdf", None, chunks_of(PDF))

    assert (failing.calls, record.thumbnails) == ([], ())


async def test_a_store_failing_midway_leaves_no_thumbnail_behind(world: FilesWorld) -> None:
    real_put = world.blobs.put
    puts: list[str] = []

    async def put_failing_on_the_second_thumbnail(
        key: str, chunks: AsyncIterable[bytes], content_type: str, max_bytes: int
    ) -> int:
        if key.startswith("thumbs/"):
            puts.append(key)
            if len(puts) == 2:
                raise OSError("storage went away")
        return await real_put(key, chunks, content_type, max_bytes)

    world.blobs.put = put_failing_on_the_second_thumbnail  # type: ignore[method-assign]
    record = await world.service.upload(ADA, "a.png", None, chunks_of(PHOTO))

    assert len(puts) == 2
    assert (record.status, record.thumbnails) == (FileStatus.READY, ())
    assert set(world.blobs._objects) == {record.object_key}
    assert usage(world) == (len(PHOTO), 1)


def test_thumbnail_names_keep_the_stem() -> None:
    assert thumbnail_name("holiday.png", 64) == "holiday-64.webp"
    assert thumbnail_name("archive.tar.gz", 256) == "archive.tar-256.webp"
    assert thumbnail_name(".hidden", 64) == ".hidden-64.webp"
    assert thumbnail_name("noext", 1024) == "noext-1024.webp"


def test_specs_are_a_square_and_two_boxes() -> None:
    assert [(s.size, s.fit.value) for s in THUMBNAIL_SPECS] == [
        (64, "cover"), (256, "contain"), (1024, "contain")
    ]  # fmt: skip
