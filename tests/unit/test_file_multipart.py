"""FileService's multipart direct uploads on memory adapters: the rules the API tests do not
reach (an interrupted completion, the shared rate, the policy's bounds, delete aborts)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.memory.blobs import MemoryBlobStorage
from domain.errors import TooManyRequests
from domain.files.errors import InvalidPart, UploadIncomplete
from domain.files.model import FileStatus
from domain.files.service import FilePolicy, staging_key
from tests.unit.files_fixtures import PNG, build_files_world

pytestmark = pytest.mark.unit

MIB = 1024 * 1024
PART = 5 * MIB
DATA = PNG + bytes(PART) + b"tail"  # two parts of 5 MiB and the rest
POLICY = FilePolicy(multipart_part_size=PART, thumbnails=False)


async def sent(blobs: MemoryBlobStorage, key: str, upload_id: str, number: int, data: bytes) -> str:
    """A part PUT through its presigned URL (as the app's blob route takes it); its ETag."""
    url = await blobs.presign_part(key, upload_id, number, len(data), 900)

    async def body() -> AsyncIterator[bytes]:
        yield data

    return await blobs.accept_part(url.rsplit("/", 1)[1], body())


async def test_a_completion_interrupted_after_assembly_finishes_when_retried() -> None:
    world = build_files_world(POLICY)
    ticket = await world.service.start_multipart("u1", "big.png", len(DATA), "image/png")
    assert ticket.part_count == 2
    key = staging_key(ticket.file.object_key)
    etags = [
        await sent(world.blobs, key, ticket.upload_id, 1, DATA[:PART]),
        await sent(world.blobs, key, ticket.upload_id, 2, DATA[PART:]),
    ]
    parts = [(1, etags[0]), (2, etags[1])]
    # storage assembled the parts, then the request died before the record changed
    assert await world.blobs.complete_multipart(key, ticket.upload_id, parts) is not None
    assert (await world.service.get("u1", ticket.file.id)).status is FileStatus.PENDING

    ready = await world.service.complete_multipart("u1", ticket.file.id, parts)

    assert (ready.status, ready.size, ready.upload_id) == (FileStatus.READY, len(DATA), None)
    assert await world.blobs.read(ready.object_key, 0, len(DATA)) == DATA
    assert await world.blobs.head(key) is None
    assert [e["via"] for e in world.events.named("file_uploaded")] == ["multipart"]


async def test_the_part_list_is_checked_before_arrival_and_arrival_before_etags() -> None:
    world = build_files_world(POLICY)
    ticket = await world.service.start_multipart("u1", "big.png", len(DATA), "image/png")
    key = staging_key(ticket.file.object_key)
    first = await sent(world.blobs, key, ticket.upload_id, 1, DATA[:PART])

    with pytest.raises(InvalidPart):
        await world.service.complete_multipart("u1", ticket.file.id, [(2, "x"), (1, first)])
    with pytest.raises(UploadIncomplete, match="2"):
        await world.service.complete_multipart("u1", ticket.file.id, [(1, first), (2, "x")])
    # a part of the wrong size is not there yet either
    await sent(world.blobs, key, ticket.upload_id, 2, b"short")
    with pytest.raises(UploadIncomplete, match="2"):
        await world.service.complete_multipart("u1", ticket.file.id, [(1, first), (2, "x")])


async def test_both_direct_upload_kinds_share_the_hourly_rate() -> None:
    world = build_files_world(FilePolicy(uploads_per_hour=2, multipart_part_size=PART))
    await world.service.start_upload("u1", "a.png", len(PNG), "image/png")
    await world.service.start_multipart("u1", "b.png", len(DATA), "image/png")

    with pytest.raises(TooManyRequests):
        await world.service.start_multipart("u1", "c.png", len(DATA), "image/png")
    with pytest.raises(TooManyRequests):
        await world.service.start_upload("u1", "d.png", len(PNG), "image/png")


async def test_deleting_a_pending_multipart_file_aborts_its_upload() -> None:
    world = build_files_world(POLICY)
    ticket = await world.service.start_multipart("u1", "big.png", len(DATA), "image/png")
    key = staging_key(ticket.file.object_key)
    await sent(world.blobs, key, ticket.upload_id, 1, DATA[:PART])

    await world.service.delete("u1", ticket.file.id)

    assert await world.blobs.list_parts(key, ticket.upload_id) is None


@pytest.mark.parametrize(
    "policy",
    [
        FilePolicy(multipart_part_size=PART - 1),
        FilePolicy(multipart_part_size=PART, multipart_max_bytes=PART * 512 + 1),
    ],
)
def test_a_policy_s3_could_not_serve_is_refused(policy: FilePolicy) -> None:
    with pytest.raises(ValueError, match="multipart"):
        build_files_world(policy)


def test_a_completion_of_the_most_parts_fits_the_json_limit() -> None:
    """512 parts, each with an S3-style quoted MD5 ETag, within MAX_JSON_BYTES' default."""
    import json

    from config.settings import load_settings
    from domain.files.model import UPLOAD_PARTS_MAX

    etag = '"' + "f" * 32 + '"'
    parts = [{"part_number": n, "etag": etag} for n in range(1, UPLOAD_PARTS_MAX + 1)]
    body = json.dumps({"parts": parts}).encode()
    assert len(body) < load_settings({"APP_ENV": "test"}).max_json_bytes
