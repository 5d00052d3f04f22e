"""FileService behaviour on memory adapters: limits, types, ownership, states, names."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from adapters.memory.blobs import MemoryBlobStorage
from adapters.memory.clock import MemoryClock
from domain.errors import InvalidCursor, NotFound, TooManyRequests
from domain.files.errors import (
    EntityTooSmall,
    InvalidSignedUrl,
    PayloadTooLarge,
    QuotaExceeded,
    UnsupportedMediaType,
    UploadIncomplete,
)
from domain.files.model import FileStatus, UploadTicket
from domain.files.names import content_disposition, safe_display_name
from domain.files.service import FilePolicy
from domain.files.sniff import declared_type, sniff
from tests.unit.files_fixtures import (
    ELF,
    EXE,
    GIF,
    JPEG,
    PDF,
    PNG,
    SECRET,
    TEXT,
    WEBP,
    CountingStream,
    FilesWorld,
    build_files_world,
    chunks_of,
)

pytestmark = pytest.mark.unit

ADA, BOB = "ada-id", "bob-id"


@pytest.fixture
def world() -> FilesWorld:
    return build_files_world()


async def stored_bytes(world: FilesWorld, key: str) -> bytes:
    info = await world.blobs.head(key)
    assert info is not None
    return await world.blobs.read(key, 0, info.size)


# uploads through the API ------------------------------------------------------------------


async def test_an_upload_is_stored_byte_for_byte_and_ready(world: FilesWorld) -> None:
    stored = await world.service.upload(ADA, "photo.png", "image/png", chunks_of(PNG, 7))

    assert stored.status is FileStatus.READY
    assert (stored.name, stored.size, stored.content_type) == ("photo.png", len(PNG), "image/png")
    assert await stored_bytes(world, stored.object_key) == PNG
    assert await world.service.get(ADA, stored.id) == stored


@pytest.mark.parametrize(
    ("data", "media"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp"),
     (PDF, "application/pdf"), (TEXT, "text/plain")],
)  # fmt: skip
async def test_every_allowed_type_is_recognised_by_its_bytes(
    world: FilesWorld, data: bytes, media: str
) -> None:
    stored = await world.service.upload(ADA, "f", media, chunks_of(data))
    assert stored.content_type == media


async def test_an_undeclared_type_is_taken_from_the_bytes(world: FilesWorld) -> None:
    stored = await world.service.upload(ADA, "scan", "application/octet-stream", chunks_of(PDF))
    assert stored.content_type == "application/pdf"


async def test_a_declared_type_with_parameters_and_aliases_is_understood(
    world: FilesWorld,
) -> None:
    text = await world.service.upload(ADA, "a.txt", "Text/Plain; charset=UTF-8", chunks_of(TEXT))
    jpeg = await world.service.upload(ADA, "b.jpg", "image/jpg", chunks_of(JPEG))
    assert (text.content_type, jpeg.content_type) == ("text/plain", "image/jpeg")


@pytest.mark.parametrize(
    ("data", "declared"),
    [(PNG, "application/pdf"), (EXE, "image/png"), (ELF, "image/png"), (EXE, None),
     (TEXT, "image/png"), (PDF, "text/plain")],
)  # fmt: skip
async def test_bytes_that_are_not_what_the_declared_type_says_are_refused_and_nothing_is_stored(
    world: FilesWorld, data: bytes, declared: str | None
) -> None:
    with pytest.raises(UnsupportedMediaType):
        await world.service.upload(ADA, "x.png", declared, chunks_of(data))
    assert await world.files.list_by_owner(ADA, 10) == []
    assert world.blobs._objects == {}


async def test_a_type_that_is_not_allowed_is_refused_before_reading_the_body(
    world: FilesWorld,
) -> None:
    stream = CountingStream(b"<svg/>")
    with pytest.raises(UnsupportedMediaType):
        await world.service.upload(ADA, "x.svg", "image/svg+xml", aiter(stream))
    assert stream.pulled == 0


async def test_allowed_types_come_from_the_policy() -> None:
    world = build_files_world(FilePolicy(allowed_types=("image/png",)))
    await world.service.upload(ADA, "a.png", "image/png", chunks_of(PNG))
    with pytest.raises(UnsupportedMediaType):
        await world.service.upload(ADA, "a.txt", None, chunks_of(TEXT))


def test_a_policy_cannot_allow_a_type_whose_bytes_cannot_be_checked() -> None:
    with pytest.raises(ValueError, match="image/svg"):
        build_files_world(FilePolicy(allowed_types=("image/png", "image/svg+xml")))


async def test_a_text_file_is_checked_all_through(world: FilesWorld) -> None:
    bad = TEXT * 20 + b"\x00binary tail"
    with pytest.raises(UnsupportedMediaType):
        await world.service.upload(ADA, "a.txt", "text/plain", chunks_of(bad))
    assert world.blobs._objects == {}
    with pytest.raises(UnsupportedMediaType):
        await world.service.upload(ADA, "b.txt", "text/plain", chunks_of(TEXT * 20 + b"\xff"))


async def test_the_size_limit_stops_the_stream_as_soon_as_it_is_passed() -> None:
    world = build_files_world(FilePolicy(max_upload_bytes=100_000))
    stream = CountingStream(PNG)

    with pytest.raises(PayloadTooLarge):
        await world.service.upload(ADA, "big.png", "image/png", aiter(stream))

    assert stream.pulled <= 100_000 + 1024
    assert world.blobs._objects == {}
    assert await world.files.list_by_owner(ADA, 10) == []


async def test_a_file_of_exactly_the_limit_is_accepted() -> None:
    world = build_files_world(FilePolicy(max_upload_bytes=len(PNG)))
    stored = await world.service.upload(ADA, "a.png", "image/png", chunks_of(PNG))
    assert stored.size == len(PNG)
    with pytest.raises(PayloadTooLarge):
        await world.service.upload(ADA, "b.png", "image/png", chunks_of(PNG + b"!"))


async def test_object_keys_are_ids_only_never_the_file_name(world: FilesWorld) -> None:
    stored = await world.service.upload(ADA, "../../etc/passwd.txt", None, chunks_of(TEXT))
    assert stored.object_key == f"files/{ADA}/{stored.id}"
    assert "passwd" not in stored.object_key
    assert stored.name == "etcpasswd.txt"


# names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "etcpasswd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("report\x00\x1b[31m.pdf", "report[31m.pdf"),
        ("line\nbreak\r\t.txt", "linebreak.txt"),
        ("e\u0301te\u0301.png", "\u00e9t\u00e9.png"),
        ("evil\u202egnp.exe", "evilgnp.exe"),
        ("  spaced   out  .txt ", "spaced out .txt"),
        ("...", "file"),
        ("", "file"),
        ("\x00\x01/\\", "file"),
        ("写真 📷.jpg", "写真 📷.jpg"),
    ],
)
def test_display_names_are_made_safe(raw: str, safe: str) -> None:
    assert safe_display_name(raw) == safe


def test_long_names_are_capped_and_keep_their_extension() -> None:
    name = safe_display_name("a" * 1000 + ".pdf")
    assert len(name) == 255
    assert name.endswith("a.pdf")
    assert len(safe_display_name("b" * 1000)) == 255


def test_the_content_disposition_is_an_attachment_with_an_encoded_name() -> None:
    header = content_disposition('Grüße "quoted"; x.txt')
    assert header == (
        'attachment; filename="Grue _quoted__ x.txt"; '
        "filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%22quoted%22%3B%20x.txt"
    )
    assert content_disposition("写真.jpg").startswith('attachment; filename=".jpg"')
    assert "\n" not in content_disposition("a\r\nSet-Cookie: x")


def test_sniffing_knows_the_signatures_and_only_those() -> None:
    assert sniff(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None
    assert sniff(b"xxxx\x00\x00\x00\x00WEBP") is None  # WEBP without RIFF
    assert sniff(b"caf\xc3", complete=False) == "text/plain"  # a character cut by the head
    assert sniff(b"caf\xc3", complete=True) is None
    assert sniff(b"") == "text/plain"
    assert declared_type("application/octet-stream") is None
    assert declared_type(None) is None


# ownership ----------------------------------------------------------------------------------


async def test_another_users_file_does_not_exist_for_them(world: FilesWorld) -> None:
    stored = await world.service.upload(ADA, "a.png", "image/png", chunks_of(PNG))
    ticket = await world.service.start_upload(ADA, "b.png", len(PNG), "image/png")

    for file_id in (stored.id, ticket.file.id):
        with pytest.raises(NotFound):
            await world.service.get(BOB, file_id)
        with pytest.raises(NotFound):
            await world.service.download(BOB, file_id)
        with pytest.raises(NotFound):
            await world.service.complete(BOB, file_id)
        with pytest.raises(NotFound):
            await world.service.delete(BOB, file_id)
    assert (await world.service.list(BOB, None, None)).items == []
    assert await world.service.get(ADA, stored.id) == stored


# listing ------------------------------------------------------------------------------------


async def test_listing_is_newest_first_and_paginated_by_cursor(world: FilesWorld) -> None:
    uploaded = []
    for n in range(5):
        uploaded.append(await world.service.upload(ADA, f"{n}.txt", None, chunks_of(TEXT)))
        if n != 2:  # two files in the same millisecond: the id breaks the tie
            world.clock.advance(1)
    await world.service.upload(BOB, "bob.txt", None, chunks_of(TEXT))

    seen, cursor, pages = [], None, 0
    while True:
        page = await world.service.list(ADA, 2, cursor)
        seen += [f.id for f in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    newest_first = sorted(uploaded, key=lambda f: (f.created_at, f.id), reverse=True)
    assert seen == [f.id for f in newest_first]
    assert seen[0] == uploaded[4].id
    assert pages == 3


async def test_a_bad_cursor_is_refused(world: FilesWorld) -> None:
    for cursor in ("not-a-cursor", "!!!", "MTIz"):
        with pytest.raises(InvalidCursor):
            await world.service.list(ADA, None, cursor)


async def test_the_limit_is_clamped(world: FilesWorld) -> None:
    for n in range(3):
        await world.service.upload(ADA, f"{n}.txt", None, chunks_of(TEXT))
    assert len((await world.service.list(ADA, 0, None)).items) == 3  # 0: the default
    assert len((await world.service.list(ADA, 1000, None)).items) == 3


# direct uploads -----------------------------------------------------------------------------


def staged(ticket: UploadTicket) -> str:
    """Where the presigned form puts the bytes, as a browser posting it would."""
    return ticket.upload.fields["key"]


async def test_a_direct_upload_becomes_ready_once_its_bytes_are_verified(
    world: FilesWorld,
) -> None:
    ticket = await world.service.start_upload(ADA, "a.png", len(PNG), "image/png")
    assert ticket.file.status is FileStatus.PENDING
    assert ticket.upload.method == "POST"
    assert ticket.upload.fields == {"key": staged(ticket), "Content-Type": "image/png"}
    assert staged(ticket) == f"staging/{ticket.file.object_key}"
    assert ticket.upload.expires_at == world.clock.now() + timedelta(minutes=15)
    token = ticket.upload.url.rsplit("/", 1)[1]

    await world.blobs.accept_upload(token, ticket.upload.fields, chunks_of(PNG))
    ready = await world.service.complete(ADA, ticket.file.id)

    assert ready.status is FileStatus.READY
    assert await world.service.complete(ADA, ticket.file.id) == ready  # again: the same
    assert await stored_bytes(world, ready.object_key) == PNG


async def test_completing_before_the_upload_is_upload_incomplete(world: FilesWorld) -> None:
    ticket = await world.service.start_upload(ADA, "a.png", len(PNG), "image/png")
    with pytest.raises(UploadIncomplete):
        await world.service.complete(ADA, ticket.file.id)
    with pytest.raises(UploadIncomplete):
        await world.service.download(ADA, ticket.file.id)


async def test_uploaded_bytes_of_another_type_are_deleted_and_refused(world: FilesWorld) -> None:
    ticket = await world.service.start_upload(ADA, "a.png", len(EXE), "image/png")
    await world.blobs.put(staged(ticket), chunks_of(EXE), "image/png", len(EXE))

    with pytest.raises(UnsupportedMediaType):
        await world.service.complete(ADA, ticket.file.id)

    assert await world.blobs.head(staged(ticket)) is None
    assert (await world.service.get(ADA, ticket.file.id)).status is FileStatus.PENDING


async def test_an_object_of_another_size_is_deleted_and_incomplete(world: FilesWorld) -> None:
    ticket = await world.service.start_upload(ADA, "a.png", len(PNG) - 1, "image/png")
    await world.blobs.put(staged(ticket), chunks_of(PNG), "image/png", len(PNG))

    with pytest.raises(UploadIncomplete):
        await world.service.complete(ADA, ticket.file.id)
    assert await world.blobs.head(staged(ticket)) is None


async def test_the_presigned_post_enforces_the_announced_size_and_type(world: FilesWorld) -> None:
    ticket = await world.service.start_upload(ADA, "a.png", len(PNG), "image/png")
    token, fields = ticket.upload.url.rsplit("/", 1)[1], ticket.upload.fields
    with pytest.raises(PayloadTooLarge):
        await world.blobs.accept_upload(token, fields, chunks_of(PNG + b"more"))
    with pytest.raises(EntityTooSmall):
        await world.blobs.accept_upload(token, fields, chunks_of(PNG[:-1]))
    with pytest.raises(UnsupportedMediaType):
        await world.blobs.accept_upload(
            token, {**fields, "Content-Type": "text/html"}, chunks_of(PNG)
        )
    with pytest.raises(InvalidSignedUrl):
        await world.blobs.accept_upload(token, {**fields, "key": "files/x/y"}, chunks_of(PNG))
    with pytest.raises(InvalidSignedUrl):
        await world.blobs.accept_upload(token[:-2] + "xx", fields, chunks_of(PNG))
    assert await world.blobs.head(staged(ticket)) is None
    world.clock.advance(15 * 60)
    with pytest.raises(InvalidSignedUrl):
        await world.blobs.accept_upload(token, fields, chunks_of(PNG))


async def test_a_direct_upload_over_the_limit_or_of_a_refused_type_is_refused(
    world: FilesWorld,
) -> None:
    with pytest.raises(PayloadTooLarge):
        await world.service.start_upload(ADA, "a.png", 10 * 1024 * 1024 + 1, "image/png")
    with pytest.raises(UnsupportedMediaType):
        await world.service.start_upload(ADA, "a.html", 10, "text/html")
    with pytest.raises(UnsupportedMediaType):
        await world.service.start_upload(ADA, "a.bin", 10, "application/octet-stream")


async def test_a_pending_upload_expires_and_the_sweep_removes_its_object(
    world: FilesWorld,
) -> None:
    ticket = await world.service.start_upload(ADA, "a.png", len(PNG), "image/png")
    await world.blobs.put(staged(ticket), chunks_of(PNG), "image/png", len(PNG))
    world.clock.advance(3600)

    with pytest.raises(NotFound):
        await world.service.get(ADA, ticket.file.id)
    assert (await world.service.list(ADA, None, None)).items == []
    assert await world.service.sweep_expired_uploads() == 1
    assert await world.blobs.head(staged(ticket)) is None
    assert await world.files.expired_uploads(10) == []


async def test_starting_an_upload_sweeps_expired_ones_in_the_background(
    world: FilesWorld,
) -> None:
    old = await world.service.start_upload(ADA, "a.png", len(PNG), "image/png")
    world.clock.advance(3601)
    await world.service.start_upload(ADA, "b.png", len(PNG), "image/png")
    await world.tasks.drain(5)
    assert await world.files.expired_uploads(10) == []
    assert old.file.id not in world.files._files


async def test_starting_uploads_sweeps_at_most_once_a_minute(world: FilesWorld) -> None:
    async def start_at(advance_s: float) -> None:
        world.clock.advance(advance_s)
        await world.service.start_upload(ADA, "a.png", len(PNG), "image/png")
        await world.tasks.drain(5)

    await start_at(0)  # swept: nothing had expired
    first = (await world.files.list_by_owner(ADA, 10))[0]
    await start_at(3590)  # swept: still nothing
    await start_at(20)  # the first has expired, but the last sweep was 20 s ago
    assert [f.id for f in await world.files.expired_uploads(10)] == [first.id]
    await start_at(60)
    assert await world.files.expired_uploads(10) == []


# downloads ----------------------------------------------------------------------------------


async def test_a_download_url_serves_the_bytes_as_an_attachment_for_fifteen_minutes(
    world: FilesWorld,
) -> None:
    stored = await world.service.upload(ADA, "Grüße.txt", None, chunks_of(TEXT))
    download = await world.service.download(ADA, stored.id)
    token = download.url.rsplit("/", 1)[1]

    served = world.blobs.open_download(token)
    assert served.data == TEXT
    assert served.content_type == "text/plain"
    assert served.content_disposition == content_disposition("Grüße.txt")
    world.clock.advance(15 * 60 - 1)
    world.blobs.open_download(token)
    world.clock.advance(1)
    with pytest.raises(InvalidSignedUrl):
        world.blobs.open_download(token)


def test_a_signed_url_of_another_secret_or_kind_is_refused(world: FilesWorld) -> None:
    other = MemoryBlobStorage("o" * 48, world.clock)
    assert SECRET != "o" * 48
    with pytest.raises(InvalidSignedUrl):
        world.blobs.upload_policy(
            other._signer.dumps({"op": "post", "key": "k", "type": "t", "min": 0, "max": 1,
                                 "exp": 2**40})
        )  # fmt: skip


# deletion -----------------------------------------------------------------------------------


async def test_delete_removes_object_and_record_and_a_second_delete_is_not_found(
    world: FilesWorld,
) -> None:
    stored = await world.service.upload(ADA, "a.png", "image/png", chunks_of(PNG))
    await world.service.delete(ADA, stored.id)
    assert await world.blobs.head(stored.object_key) is None
    assert await world.files.get(stored.id) is None
    with pytest.raises(NotFound):
        await world.service.delete(ADA, stored.id)


class FailingDeletes(MemoryBlobStorage):
    fail = True

    async def delete(self, key: str) -> None:
        if self.fail:
            raise ConnectionError("storage is down")
        await super().delete(key)


async def test_an_interrupted_delete_hides_the_file_and_can_be_finished() -> None:
    blobs = FailingDeletes(SECRET, MemoryClock())
    world = build_files_world(blobs=blobs)
    stored = await world.service.upload(ADA, "a.png", "image/png", chunks_of(PNG))

    with pytest.raises(ConnectionError):
        await world.service.delete(ADA, stored.id)

    with pytest.raises(NotFound):
        await world.service.get(ADA, stored.id)
    assert (await world.service.list(ADA, None, None)).items == []
    blobs.fail = False
    await world.service.delete(ADA, stored.id)
    assert await world.files.get(stored.id) is None
    assert await blobs.head(stored.object_key) is None


async def test_posting_the_form_again_after_complete_never_replaces_the_checked_bytes(
    world: FilesWorld,
) -> None:
    ticket = await world.service.start_upload(ADA, "a.png", len(PNG), "image/png")
    token = ticket.upload.url.rsplit("/", 1)[1]
    await world.blobs.accept_upload(token, ticket.upload.fields, chunks_of(PNG))
    ready = await world.service.complete(ADA, ticket.file.id)

    html = b"<html><script>alert(1)</script>".ljust(len(PNG), b" ")
    await world.blobs.accept_upload(token, ticket.upload.fields, chunks_of(html))

    assert await stored_bytes(world, ready.object_key) == PNG
    assert await world.service.complete(ADA, ticket.file.id) == ready
    assert await stored_bytes(world, ready.object_key) == PNG


async def test_a_direct_text_upload_is_checked_all_through(world: FilesWorld) -> None:
    body = b"plain text\n" * 1000 + b"\x00\x01binary"  # the first 8 KiB are text
    ticket = await world.service.start_upload(ADA, "a.txt", len(body), "text/plain")
    await world.blobs.put(staged(ticket), chunks_of(body), "text/plain", len(body))

    with pytest.raises(UnsupportedMediaType):
        await world.service.complete(ADA, ticket.file.id)
    assert await world.blobs.head(staged(ticket)) is None
    assert await world.blobs.head(ticket.file.object_key) is None


async def test_a_complete_interrupted_after_the_move_completes_when_repeated(
    world: FilesWorld,
) -> None:
    ticket = await world.service.start_upload(ADA, "a.png", len(PNG), "image/png")
    await world.blobs.put(staged(ticket), chunks_of(PNG), "image/png", len(PNG))
    await world.blobs.promote(staged(ticket), ticket.file.object_key)  # moved, not yet ready

    ready = await world.service.complete(ADA, ticket.file.id)
    assert ready.status is FileStatus.READY
    assert await stored_bytes(world, ready.object_key) == PNG


# quota and upload rate ----------------------------------------------------------------------


def quota_world(max_bytes: int = 10 * len(PNG), max_files: int = 100) -> FilesWorld:
    return build_files_world(FilePolicy(quota_bytes=max_bytes, quota_files=max_files))


async def test_uploads_past_the_byte_quota_are_refused_and_keep_nothing() -> None:
    world = quota_world(max_bytes=2 * len(PNG) + 10)
    await world.service.upload(ADA, "1.png", None, chunks_of(PNG))
    await world.service.upload(ADA, "2.png", None, chunks_of(PNG))

    with pytest.raises(QuotaExceeded):
        await world.service.upload(ADA, "3.png", None, chunks_of(PNG))
    with pytest.raises(QuotaExceeded):
        await world.service.start_upload(ADA, "4.png", len(PNG), "image/png")

    assert len((await world.service.list(ADA, None, None)).items) == 2
    assert len(world.blobs._objects) == 2  # nothing of the refused uploads is kept
    await world.service.upload(BOB, "b.png", None, chunks_of(PNG))  # the quota is per user


async def test_the_file_count_quota_counts_pending_uploads() -> None:
    world = quota_world(max_files=2)
    await world.service.start_upload(ADA, "1.png", len(PNG), "image/png")
    await world.service.upload(ADA, "2.png", None, chunks_of(PNG))
    with pytest.raises(QuotaExceeded):
        await world.service.upload(ADA, "3.png", None, chunks_of(PNG))
    with pytest.raises(QuotaExceeded):
        await world.service.start_upload(ADA, "4.png", len(PNG), "image/png")


async def test_deleting_and_expiring_give_the_quota_back() -> None:
    world = quota_world(max_files=1)
    stored = await world.service.upload(ADA, "1.png", None, chunks_of(PNG))
    await world.service.delete(ADA, stored.id)
    await world.service.start_upload(ADA, "2.png", len(PNG), "image/png")
    with pytest.raises(QuotaExceeded):
        await world.service.upload(ADA, "3.png", None, chunks_of(PNG))

    world.clock.advance(3600)
    assert await world.service.sweep_expired_uploads() == 1
    await world.service.upload(ADA, "3.png", None, chunks_of(PNG))


async def test_parallel_uploads_cannot_pass_the_quota_together() -> None:
    world = quota_world(max_files=3)

    async def one(n: int) -> bool:
        try:
            await world.service.upload(ADA, f"{n}.png", None, chunks_of(PNG, 100))
        except QuotaExceeded:
            return False
        return True

    results = await asyncio.gather(*(one(n) for n in range(20)))
    assert sum(results) == 3
    assert len((await world.service.list(ADA, None, None)).items) == 3


async def test_uploads_on_either_path_count_against_the_hourly_upload_rate() -> None:
    world = build_files_world(FilePolicy(uploads_per_hour=3))
    await world.service.upload(ADA, "1.png", None, chunks_of(PNG))
    await world.service.start_upload(ADA, "2.png", len(PNG), "image/png")
    await world.service.upload(ADA, "3.png", None, chunks_of(PNG))

    with pytest.raises(TooManyRequests) as refused:
        await world.service.start_upload(ADA, "4.png", len(PNG), "image/png")
    assert 0 < refused.value.retry_after_s <= 3600
    window = await world.limiter.peek(f"rate:{ADA}:uploads", 3)
    assert window.exceeded  # the limiter's `rate:` namespace, one counter per user
    await world.service.upload(BOB, "b.png", None, chunks_of(PNG))
    world.clock.advance(3600)
    await world.service.upload(ADA, "5.png", None, chunks_of(PNG))
