"""The BlobStorage contract, held by the memory adapter, the disk one (the memory adapter with
its objects in files, `make dev`'s) and S3 (a moto server) alike, through real HTTP for the
presigned URLs: the memory and disk adapters' are served by the app itself (here through
httpx's ASGI transport), S3's by moto.

moto verifies neither presigned signatures nor expiry nor the POST policy's conditions, so those
rules are tested on the memory adapter's own signed URLs, and S3's presign parameters (the
policy document and the query of the GET URL) are checked as S3 would read them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import httpx
import pytest
import pytest_asyncio
from dependency_injector import providers

from adapters.disk.blobs import DiskBlobStorage
from adapters.lifecycle import ManagedClient
from adapters.memory.blobs import MemoryBlobStorage
from adapters.memory.clock import MemoryClock
from adapters.s3.blobs import MIN_PART_SIZE, S3BlobStorage
from adapters.s3.client import AwsConfig, aws_client
from config.container import build_container
from config.settings import load_settings
from domain.errors import ServiceUnavailable
from domain.files.errors import EntityTooSmall, InvalidPart, PayloadTooLarge
from domain.files.model import PUBLIC_CACHE_CONTROL
from domain.files.names import content_disposition
from entrypoints.http.app import create_http_app
from ports.blobs import BlobStorage
from tests.contract.conftest import unreachable_port
from tests.support.moto import public_read_policy, reset_moto

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

pytestmark = pytest.mark.contract

REGION: Literal["ap-south-1"] = "ap-south-1"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Storage:
    name: str
    blobs: BlobStorage
    http: httpx.AsyncClient  # reaches the presigned URLs
    clock: MemoryClock


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def s3_managed(aws_endpoint_url: str) -> AsyncIterator[ManagedClient[S3Client]]:
    managed = aws_client("s3", AwsConfig(REGION, "testing", "testing", aws_endpoint_url, 5.0))
    try:
        yield managed
    finally:
        await managed.aclose()


async def _bucket(managed: ManagedClient[S3Client]) -> str:
    name = f"flowhub-test-{uuid4().hex[:12]}"
    client = await managed.get()
    await client.create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return name


async def _public_read_policy(managed: ManagedClient[S3Client], bucket: str) -> None:
    client = await managed.get()
    await client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public_read_policy(bucket)))


@pytest.fixture(params=["memory", "disk", "s3"])
def s3_or_memory(
    request: pytest.FixtureRequest,
) -> tuple[ManagedClient[S3Client], str] | str:
    """The S3 client and endpoint for the "s3" run (moto starts only when a test needs it);
    otherwise "memory" or "disk"."""
    if request.param == "s3":
        managed: ManagedClient[S3Client] = request.getfixturevalue("s3_managed")
        endpoint_url: str = request.getfixturevalue("aws_endpoint_url")
        return managed, endpoint_url
    return str(request.param)


def memory_or_disk(kind: str, clock: MemoryClock, directory: Path) -> MemoryBlobStorage:
    if kind == "disk":
        return DiskBlobStorage(directory / "files", "k" * 48, clock)
    return MemoryBlobStorage("k" * 48, clock)


@pytest_asyncio.fixture(loop_scope="session")
async def storage(
    s3_or_memory: tuple[ManagedClient[S3Client], str] | str, clock: MemoryClock, tmp_path: Path
) -> AsyncIterator[Storage]:
    if not isinstance(s3_or_memory, str):
        managed, endpoint_url = s3_or_memory
        # the smallest parts S3 takes, so that a few MiB exercise multipart uploads
        bucket = await _bucket(managed)
        await _public_read_policy(managed, bucket)
        blobs = S3BlobStorage(
            managed, bucket, part_size=MIN_PART_SIZE, public_base_url=f"{endpoint_url}/{bucket}"
        )
        async with httpx.AsyncClient(timeout=30) as http:
            yield Storage("s3", blobs, http, clock)
        await reset_moto(endpoint_url)
        return
    memory = memory_or_disk(s3_or_memory, clock, tmp_path)
    container = build_container(load_settings({"APP_ENV": "test"}))
    container.adapters.blobs.override(providers.Object(memory))
    app = create_http_app(container)
    transport = httpx.ASGITransport(app=asgi(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://flowhub.test") as http:
        yield Storage(s3_or_memory, memory, http, clock)


def asgi(app: Any) -> Any:
    """A Quart app as httpx's ASGI transport types it (Quart's own types are narrower)."""
    return app


async def chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def form_upload(storage: Storage, url: str, fields: dict[str, str], data: bytes) -> int:
    response = await storage.http.post(
        url, data=fields, files={"file": ("upload.bin", data, "application/octet-stream")}
    )
    return response.status_code


# put, head, read, delete ---------------------------------------------------------------------


async def test_a_put_stream_reads_back_whole_and_in_ranges(storage: Storage) -> None:
    size = await storage.blobs.put("files/u/a", chunks(PNG), "image/png", MIB)

    assert size == len(PNG)
    info = await storage.blobs.head("files/u/a")
    assert info is not None
    assert (info.size, info.content_type) == (len(PNG), "image/png")
    assert await storage.blobs.read("files/u/a", 0, len(PNG)) == PNG
    assert await storage.blobs.read("files/u/a", 0, 8) == PNG[:8]
    assert await storage.blobs.read("files/u/a", 100, 50) == PNG[100:150]
    assert await storage.blobs.read("files/u/a", len(PNG) - 3, 100) == PNG[-3:]


async def test_a_file_larger_than_one_part_goes_up_whole(storage: Storage) -> None:
    data = bytes(range(251)) * (12 * MIB // 251)  # three S3 parts

    assert await storage.blobs.put("files/u/big", chunks(data, 300_000), "image/png", 20 * MIB)

    assert await storage.blobs.read("files/u/big", 0, len(data)) == data


async def test_a_file_of_exactly_one_part_is_stored(storage: Storage) -> None:
    data = b"\x89PNG" + bytes(MIN_PART_SIZE - 4)

    assert await storage.blobs.put("files/u/one", chunks(data, 100_000), "image/png", 8 * MIB)

    assert await storage.blobs.read("files/u/one", MIN_PART_SIZE - 10, 100) == data[-10:]
    info = await storage.blobs.head("files/u/one")
    assert info is not None
    assert info.size == MIN_PART_SIZE


async def test_an_empty_file_is_stored(storage: Storage) -> None:
    assert await storage.blobs.put("files/u/empty", chunks(b""), "text/plain", MIB) == 0
    info = await storage.blobs.head("files/u/empty")
    assert info is not None
    assert info.size == 0
    assert await storage.blobs.read("files/u/empty", 0, 10) == b""


async def test_missing_objects_are_none_and_empty_and_delete_is_idempotent(
    storage: Storage,
) -> None:
    assert await storage.blobs.head("files/u/none") is None
    assert await storage.blobs.read("files/u/none", 0, 10) == b""
    await storage.blobs.put("files/u/a", chunks(PNG), "image/png", MIB)
    await storage.blobs.delete("files/u/a")
    await storage.blobs.delete("files/u/a")
    assert await storage.blobs.head("files/u/a") is None


async def test_promote_moves_the_object_and_a_later_write_to_the_source_does_not_follow(
    storage: Storage,
) -> None:
    await storage.blobs.put("staging/u/a", chunks(PNG), "image/png", MIB)

    info = await storage.blobs.promote("staging/u/a", "files/u/a")

    assert info is not None
    assert (info.size, info.content_type) == (len(PNG), "image/png")
    assert await storage.blobs.head("staging/u/a") is None
    assert await storage.blobs.read("files/u/a", 0, len(PNG)) == PNG
    await storage.blobs.put("staging/u/a", chunks(b"<html>swapped</html>"), "image/png", MIB)
    assert await storage.blobs.read("files/u/a", 0, len(PNG)) == PNG
    assert await storage.blobs.promote("staging/u/none", "files/u/none") is None
    assert await storage.blobs.head("files/u/none") is None


@pytest.mark.parametrize("size", [MIB + 1, 7 * MIB])
async def test_more_than_the_maximum_stores_nothing(storage: Storage, size: int) -> None:
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        while True:
            pulled += 64 * 1024
            yield b"x" * (64 * 1024)

    with pytest.raises(PayloadTooLarge):
        await storage.blobs.put("files/u/big", endless(), "text/plain", size)

    assert pulled <= size + 64 * 1024
    assert await storage.blobs.head("files/u/big") is None


async def test_a_failing_stream_stores_nothing_and_its_error_comes_through(
    storage: Storage,
) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"x" * (6 * MIB)  # past the first S3 part
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await storage.blobs.put("files/u/broken", broken(), "text/plain", 20 * MIB)
    assert await storage.blobs.head("files/u/broken") is None


# presigned URLs, through real HTTP -------------------------------------------------------------


async def test_a_presigned_post_then_a_presigned_get_round_trip_byte_for_byte(
    storage: Storage,
) -> None:
    post = await storage.blobs.presign_post("files/u/direct", "image/png", len(PNG), len(PNG), 900)

    assert await form_upload(storage, post.url, post.fields, PNG) in (200, 201, 204)
    info = await storage.blobs.head("files/u/direct")
    assert info is not None
    assert (info.size, info.content_type) == (len(PNG), "image/png")

    name = 'Grüße "aus" ../FlowHub.png'
    url = await storage.blobs.presign_get("files/u/direct", name, "image/png", 900)
    response = await storage.http.get(url)
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["Content-Disposition"] == content_disposition(name)
    assert response.headers["Content-Type"] == "image/png"


async def test_s3_presigned_post_policy_enforces_type_size_and_expiry(
    s3_managed: ManagedClient[S3Client],
) -> None:
    blobs = S3BlobStorage(s3_managed, await _bucket(s3_managed))
    before = datetime.now(UTC).replace(microsecond=0)

    post = await blobs.presign_post("files/u/f", "application/pdf", 10, 20, 900)

    assert post.fields["key"] == "files/u/f"
    assert post.fields["Content-Type"] == "application/pdf"
    policy = json.loads(base64.b64decode(post.fields["policy"]))
    conditions = policy["conditions"]
    assert {"Content-Type": "application/pdf"} in conditions
    assert ["content-length-range", 10, 20] in conditions
    assert {"key": "files/u/f"} in conditions
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert 899 <= (expires - before).total_seconds() <= 905
    assert post.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert "x-amz-signature" in post.fields


async def test_s3_presigned_get_names_the_attachment_and_expires(
    s3_managed: ManagedClient[S3Client],
) -> None:
    blobs = S3BlobStorage(s3_managed, await _bucket(s3_managed))

    url = await blobs.presign_get("files/u/f", "写真 1.png", "image/png", 900)

    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["900"]
    assert query["response-content-disposition"] == [content_disposition("写真 1.png")]
    assert query["response-content-type"] == ["image/png"]
    assert "X-Amz-Signature" in query
    assert urlsplit(url).path.endswith("/files/u/f")


# public objects: copies under public/, read without a token --------------------------------------


async def test_a_published_object_is_read_without_a_token_until_it_is_deleted(
    storage: Storage,
) -> None:
    await storage.blobs.put("files/u/a", chunks(PNG), "image/png", MIB)

    info = await storage.blobs.publish("files/u/a", "public/t0k3n/a.png")

    assert info is not None
    assert (info.size, info.content_type) == (len(PNG), "image/png")
    url = storage.blobs.public_url("public/t0k3n/a.png")
    assert "t0k3n" in url
    assert "files/u/a" not in url
    response = await storage.http.get(url)  # no Authorization, no signature in the URL
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Cache-Control"] == PUBLIC_CACHE_CONTROL
    assert "X-Amz-Signature" not in url
    # the same storage never serves the private key that way (S3: the policy; dev: the route)
    private = (await storage.http.get(url.replace("public/t0k3n/a.png", "files/u/a"))).status_code
    assert private in (403, 404)
    # the private object is untouched, and the copy does not follow a later write to it
    await storage.blobs.put("files/u/a", chunks(b"GIF89a" + b"x" * 10), "image/gif", MIB)
    assert await storage.blobs.read("public/t0k3n/a.png", 0, len(PNG)) == PNG

    await storage.blobs.delete("public/t0k3n/a.png")

    assert await storage.blobs.head("public/t0k3n/a.png") is None
    assert (await storage.http.get(url)).status_code in (403, 404)
    assert await storage.blobs.head("files/u/a") is not None


async def test_publishing_nothing_is_none_and_only_public_keys_are_published(
    storage: Storage,
) -> None:
    assert await storage.blobs.publish("files/u/none", "public/t/none.png") is None
    assert await storage.blobs.head("public/t/none.png") is None
    await storage.blobs.put("files/u/a", chunks(PNG), "image/png", MIB)
    with pytest.raises(ValueError, match="public/"):
        await storage.blobs.publish("files/u/a", "files/u/b")


async def test_a_private_object_is_never_served_by_the_public_route(memory: Storage) -> None:
    """The development storage's public route serves `public/` only, as the bucket policy."""
    await memory.blobs.put("files/u/a", chunks(PNG), "image/png", MIB)
    base = memory.blobs.public_url("public/x")[: -len("public/x")]

    for path in ("files/u/a", "public/../files/u/a", "public/%2e%2e/files/u/a"):
        response = await memory.http.get(base + path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"


# the memory and disk adapters' signed URLs, held to what S3 enforces ----------------------------


@pytest_asyncio.fixture(loop_scope="session", params=["memory", "disk"])
async def memory(
    request: pytest.FixtureRequest, clock: MemoryClock, tmp_path: Path
) -> AsyncIterator[Storage]:
    blobs = memory_or_disk(str(request.param), clock, tmp_path)
    container = build_container(load_settings({"APP_ENV": "test"}))
    container.adapters.blobs.override(providers.Object(blobs))
    transport = httpx.ASGITransport(app=asgi(create_http_app(container)))
    async with httpx.AsyncClient(transport=transport, base_url="http://flowhub.test") as http:
        yield Storage(str(request.param), blobs, http, clock)


async def test_memory_upload_urls_refuse_another_size_type_key_or_a_tampered_token(
    memory: Storage,
) -> None:
    post = await memory.blobs.presign_post("files/u/f", "image/png", len(PNG), len(PNG), 900)

    assert await form_upload(memory, post.url, post.fields, PNG + b"x") == 413
    assert await form_upload(memory, post.url, post.fields, PNG[:-1]) == 400
    wrong_type = {**post.fields, "Content-Type": "text/html"}
    assert await form_upload(memory, post.url, wrong_type, PNG) == 415
    wrong_key = {**post.fields, "key": "files/other/f"}
    assert await form_upload(memory, post.url, wrong_key, PNG) == 403
    assert await form_upload(memory, post.url[:-3] + "abc", post.fields, PNG) == 403
    assert await memory.blobs.head("files/u/f") is None
    assert await form_upload(memory, post.url, post.fields, PNG) == 204


async def test_memory_presigned_urls_expire(memory: Storage) -> None:
    await memory.blobs.put("files/u/f", chunks(PNG), "image/png", MIB)
    post = await memory.blobs.presign_post("files/u/g", "image/png", len(PNG), len(PNG), 900)
    url = await memory.blobs.presign_get("files/u/f", "a.png", "image/png", 900)
    memory.clock.advance(899)
    assert (await memory.http.get(url)).status_code == 200
    memory.clock.advance(1)

    response = await memory.http.get(url)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert await form_upload(memory, post.url, post.fields, PNG) == 403
    assert await memory.blobs.head("files/u/g") is None


async def test_a_download_url_is_not_an_upload_url(memory: Storage) -> None:
    await memory.blobs.put("files/u/f", chunks(PNG), "image/png", MIB)
    url = await memory.blobs.presign_get("files/u/f", "a.png", "image/png", 900)
    post = await memory.blobs.presign_post("files/u/f", "image/png", 1, MIB, 900)

    assert await form_upload(memory, url, post.fields, PNG[:10]) == 403
    assert (await memory.http.get(post.url)).status_code == 403


async def test_an_unreachable_s3_is_service_unavailable() -> None:
    managed = aws_client(
        "s3", AwsConfig(REGION, "testing", "testing", f"http://127.0.0.1:{unreachable_port()}", 0.2)
    )
    try:
        blobs = S3BlobStorage(managed, "flowhub-nowhere")
        with pytest.raises(ServiceUnavailable):
            await blobs.put("files/u/f", chunks(b"abc"), "text/plain", 10)
    finally:
        await managed.aclose()


# the disk adapter: what it keeps outlives the process ------------------------------------------


async def test_disk_objects_and_their_links_outlive_the_adapter(
    clock: MemoryClock, tmp_path: Path
) -> None:
    """A second adapter on the same directory and secret (the server after a restart) reads
    what the first stored, through a download link the first signed; failed writes leave no
    partial file behind."""
    first = DiskBlobStorage(tmp_path / "files", "k" * 48, clock)
    await first.put("files/u/kept", chunks(PNG), "image/png", MIB)
    with pytest.raises(PayloadTooLarge):
        await first.put("files/u/big", chunks(PNG), "image/png", len(PNG) - 1)
    url = await first.presign_get("files/u/kept", "kept.png", "image/png", 900)

    again = DiskBlobStorage(tmp_path / "files", "k" * 48, clock)
    info = await again.head("files/u/kept")
    assert info is not None
    assert (info.size, info.content_type) == (len(PNG), "image/png")
    assert await again.read("files/u/kept", 8, 16) == PNG[8:24]
    container = build_container(load_settings({"APP_ENV": "test"}))
    container.adapters.blobs.override(providers.Object(again))
    transport = httpx.ASGITransport(app=asgi(create_http_app(container)))
    async with httpx.AsyncClient(transport=transport, base_url="http://flowhub.test") as http:
        response = await http.get(url)
    assert response.status_code == 200
    assert response.content == PNG
    assert [p.suffix for p in (tmp_path / "files").iterdir()] == [".blob"]


def test_files_dir_without_s3_selects_the_disk_adapter(tmp_path: Path) -> None:
    env = {"APP_ENV": "test", "FILES_DIR": str(tmp_path / "files")}
    adapters = build_container(load_settings(env)).adapters
    assert isinstance(adapters.blobs(), DiskBlobStorage)
    assert adapters.storage_probe().adapter == "disk"
    s3 = {**env, "S3_BUCKET_NAME": "flowhub-files", "AWS_ACCESS_KEY_ID": "a"}
    s3["AWS_SECRET_ACCESS_KEY"] = "b"
    assert build_container(load_settings(s3)).adapters.storage_probe().adapter == "s3"


# multipart uploads through presigned part PUTs ------------------------------------------------

PART_A = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (MIN_PART_SIZE // 256) + b"tail"
PART_B = b"the last part may be short"


async def put_part(storage: Storage, url: str, data: bytes) -> httpx.Response:
    return await storage.http.put(url, content=data)


async def send_part(storage: Storage, key: str, upload_id: str, number: int, data: bytes) -> str:
    url = await storage.blobs.presign_part(key, upload_id, number, len(data), 900)
    response = await put_part(storage, url, data)
    assert response.status_code == 200, response.text
    return response.headers["ETag"]


async def test_a_multipart_upload_resumed_part_by_part_assembles_the_exact_bytes(
    storage: Storage,
) -> None:
    key = "staging/files/u/m"
    upload_id = await storage.blobs.start_multipart(key, "image/png")
    assert await storage.blobs.list_parts(key, upload_id) == []
    assert await storage.blobs.head(key) is None

    etag_b = await send_part(storage, key, upload_id, 2, PART_B)  # out of order, then "reload"
    listed = await storage.blobs.list_parts(key, upload_id)
    assert listed is not None
    assert [(p.part_number, p.size, p.etag) for p in listed] == [(2, len(PART_B), etag_b)]
    etag_a = await send_part(storage, key, upload_id, 1, PART_A)
    listed = await storage.blobs.list_parts(key, upload_id)
    assert listed is not None
    assert [(p.part_number, p.size) for p in listed] == [(1, len(PART_A)), (2, len(PART_B))]

    info = await storage.blobs.complete_multipart(key, upload_id, [(1, etag_a), (2, etag_b)])

    assert info is not None
    assert (info.size, info.content_type) == (len(PART_A) + len(PART_B), "image/png")
    assert await storage.blobs.read(key, 0, info.size) == PART_A + PART_B
    # the upload is over: no parts, no more part PUTs (a second completion is left undefined:
    # S3 may accept a retry, moto even re-assembles; the service never completes twice)
    assert await storage.blobs.list_parts(key, upload_id) is None
    url = await storage.blobs.presign_part(key, upload_id, 1, len(PART_B), 900)
    assert (await put_part(storage, url, PART_B)).status_code >= 400  # moto: 500
    assert await storage.blobs.read(key, 0, info.size) == PART_A + PART_B


async def test_a_part_sent_again_replaces_the_earlier_one(storage: Storage) -> None:
    key = "staging/files/u/again"
    upload_id = await storage.blobs.start_multipart(key, "text/plain")
    first = await send_part(storage, key, upload_id, 1, b"first try")
    second = await send_part(storage, key, upload_id, 1, b"again ok!")

    assert first != second
    with pytest.raises(InvalidPart):
        await storage.blobs.complete_multipart(key, upload_id, [(1, first)])
    assert await storage.blobs.complete_multipart(key, upload_id, [(1, second)]) is not None
    assert await storage.blobs.read(key, 0, 100) == b"again ok!"


async def test_completing_with_parts_that_did_not_arrive_or_too_small_is_refused(
    storage: Storage,
) -> None:
    key = "staging/files/u/bad"
    upload_id = await storage.blobs.start_multipart(key, "text/plain")
    small = await send_part(storage, key, upload_id, 1, b"small")
    last = await send_part(storage, key, upload_id, 2, b"last")

    with pytest.raises(InvalidPart):
        await storage.blobs.complete_multipart(key, upload_id, [(1, small), (3, last)])
    with pytest.raises(InvalidPart):
        await storage.blobs.complete_multipart(key, upload_id, [(1, '"' + "0" * 32 + '"')])
    with pytest.raises(EntityTooSmall):
        await storage.blobs.complete_multipart(key, upload_id, [(1, small), (2, last)])
    assert await storage.blobs.head(key) is None
    listed = await storage.blobs.list_parts(key, upload_id)
    assert listed is not None
    assert len(listed) == 2  # the upload goes on: a refused completion drops nothing


async def test_an_aborted_upload_is_gone_and_aborting_again_is_harmless(storage: Storage) -> None:
    key = "staging/files/u/abort"
    upload_id = await storage.blobs.start_multipart(key, "text/plain")
    etag = await send_part(storage, key, upload_id, 1, b"bytes")

    await storage.blobs.abort_multipart(key, upload_id)
    await storage.blobs.abort_multipart(key, upload_id)

    assert await storage.blobs.list_parts(key, upload_id) is None
    if storage.name != "s3":  # moto answers 500 where S3 answers NoSuchUpload
        assert await storage.blobs.complete_multipart(key, upload_id, [(1, etag)]) is None
    assert await storage.blobs.head(key) is None
    url = await storage.blobs.presign_part(key, upload_id, 1, 5, 900)
    assert (await put_part(storage, url, b"bytes")).status_code >= 400


async def test_part_numbers_outside_s3s_range_are_invalid(storage: Storage) -> None:
    key = "staging/files/u/range"
    upload_id = await storage.blobs.start_multipart(key, "text/plain")
    for number in (0, 10_001):
        with pytest.raises(InvalidPart):
            await storage.blobs.presign_part(key, upload_id, number, 5, 900)


async def test_s3_part_urls_sign_their_size_and_expiry(s3_managed: ManagedClient[S3Client]) -> None:
    blobs = S3BlobStorage(s3_managed, await _bucket(s3_managed))
    upload_id = await blobs.start_multipart("staging/files/u/s", "text/plain")

    url = await blobs.presign_part("staging/files/u/s", upload_id, 3, 1234, 600)

    query = parse_qs(urlsplit(url).query)
    assert query["partNumber"] == ["3"]
    assert query["uploadId"] == [upload_id]
    assert query["X-Amz-Expires"] == ["600"]
    assert "content-length" in query["X-Amz-SignedHeaders"][0].split(";")


async def test_memory_part_urls_hold_their_size_upload_and_expiry(memory: Storage) -> None:
    key = "staging/files/u/p"
    upload_id = await memory.blobs.start_multipart(key, "text/plain")
    url = await memory.blobs.presign_part(key, upload_id, 1, 10, 900)

    assert (await put_part(memory, url, b"x" * 11)).status_code == 413
    assert (await put_part(memory, url, b"x" * 9)).status_code == 400
    assert (await put_part(memory, url[:-3] + "abc", b"x" * 10)).status_code == 403
    other = await memory.blobs.presign_part("staging/files/u/other", upload_id, 1, 10, 900)
    assert (await put_part(memory, other, b"x" * 10)).status_code == 403
    assert await memory.blobs.list_parts(key, upload_id) == []
    memory.clock.advance(900)
    assert (await put_part(memory, url, b"x" * 10)).status_code == 403
