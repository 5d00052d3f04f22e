"""The FileRepository contract, held by the memory adapter and by MongoDB alike (both on the
fake clock: pending records are read as gone once `expires_at` passes)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.lifecycle import ManagedClient
from adapters.memory.clock import MemoryClock
from adapters.memory.files import MemoryFileRepository
from adapters.mongo.client import MongoClient
from adapters.mongo.files import MongoFileRepository
from domain.errors import ServiceUnavailable
from domain.files.model import (
    FileCursor,
    FileStatus,
    StorageQuota,
    StoredFile,
    Thumbnail,
    ThumbnailFit,
)
from ports.files import FileRepository
from tests.contract.conftest import Backend, MongoService, make_backend

pytestmark = pytest.mark.contract

HOUR = timedelta(hours=1)


@pytest.fixture(params=["memory", "mongo"])
def backend(request: pytest.FixtureRequest, clock: MemoryClock) -> Backend:
    return make_backend(request, clock)


@pytest.fixture
def files(backend: Backend) -> FileRepository:
    if backend.mongo is not None:
        return MongoFileRepository(backend.mongo.managed, backend.mongo.database, backend.clock)
    return MemoryFileRepository(backend.clock)


def a_file(
    clock: MemoryClock,
    file_id: str = "f1",
    owner_id: str = "ada",
    status: FileStatus = FileStatus.READY,
    age_s: float = 0,
) -> StoredFile:
    created = clock.now() - timedelta(seconds=age_s)
    return StoredFile(
        id=file_id,
        owner_id=owner_id,
        name="Grüße ✨.txt",
        size=1234,
        content_type="text/plain",
        status=status,
        object_key=f"files/{owner_id}/{file_id}",
        created_at=created,
        expires_at=clock.now() + HOUR if status is FileStatus.PENDING else None,
    )


async def test_an_added_file_reads_back(files: FileRepository, clock: MemoryClock) -> None:
    ready = a_file(clock)
    pending = a_file(clock, "f2", status=FileStatus.PENDING)
    await files.add(ready)
    await files.add(pending)
    assert await files.get("f1") == ready
    assert await files.get("f2") == pending
    assert await files.get("nope") is None


async def test_a_files_thumbnails_read_back_on_every_read(
    files: FileRepository, clock: MemoryClock
) -> None:
    pending = a_file(clock, status=FileStatus.PENDING)
    await files.add(pending)
    thumbs = (
        Thumbnail(1024, ThumbnailFit.CONTAIN, 1024, 683, 51_234),
        Thumbnail(64, ThumbnailFit.COVER, 64, 64, 1_402),
    )
    ready = replace(pending.ready(), thumbnails=thumbs)
    await files.update(ready)
    assert await files.get(ready.id) == ready
    assert await files.list_by_owner("ada", 10) == [ready]
    assert (await files.get(ready.id) or pending).quota_bytes == 1234 + 51_234 + 1_402


async def test_a_public_files_token_reads_back_and_goes_when_it_turns_private(
    files: FileRepository, clock: MemoryClock
) -> None:
    ready = replace(a_file(clock, status=FileStatus.PENDING).ready(), public_token="t0k3n")
    await files.add(ready)
    assert await files.get(ready.id) == ready
    assert await files.list_by_owner("ada", 10) == [ready]
    assert ready.quota_bytes == 2 * 1234  # the public copy is stored bytes too
    assert not await files.set_public_token(ready.id, None, "other")  # not what it holds
    assert await files.set_public_token(ready.id, "t0k3n", None)
    found = await files.get(ready.id)
    assert found is not None
    assert found.public_token is None
    assert not await files.set_public_token(ready.id, "t0k3n", None)
    # of two at once from private, exactly one wins
    won = await asyncio.gather(
        files.set_public_token(ready.id, None, "a"), files.set_public_token(ready.id, None, "b")
    )
    assert sorted(won) == [False, True]
    assert not await files.set_public_token("missing", None, "a")
    await files.add(a_file(clock, "pending-1", status=FileStatus.PENDING))
    assert not await files.set_public_token("pending-1", None, "a")  # ready files only


async def test_update_replaces_and_delete_removes(
    files: FileRepository, clock: MemoryClock
) -> None:
    pending = a_file(clock, status=FileStatus.PENDING)
    await files.add(pending)
    await files.update(pending.ready())
    assert await files.get("f1") == pending.ready()
    await files.update(replace(pending, id="ghost"))
    assert await files.get("ghost") is None
    await files.delete("f1")
    await files.delete("f1")
    assert await files.get("f1") is None


async def test_listing_is_the_owners_visible_files_newest_first(
    files: FileRepository, clock: MemoryClock
) -> None:
    await files.add(a_file(clock, "old", age_s=30))
    await files.add(a_file(clock, "b", age_s=10))
    await files.add(a_file(clock, "a", age_s=10))  # same time as "b": ids break the tie
    await files.add(a_file(clock, "new", status=FileStatus.PENDING))
    await files.add(a_file(clock, "gone", status=FileStatus.DELETING))
    await files.add(a_file(clock, "bobs", owner_id="bob"))

    listed = await files.list_by_owner("ada", 10)

    assert [f.id for f in listed] == ["new", "b", "a", "old"]
    assert [f.id for f in await files.list_by_owner("ada", 2)] == ["new", "b"]


async def test_listing_continues_after_a_cursor(files: FileRepository, clock: MemoryClock) -> None:
    for n, file_id in enumerate(["e", "d", "c", "b", "a"]):
        await files.add(a_file(clock, file_id, age_s=n // 2))  # pairs share a time
    seen: list[str] = []
    after = None
    while True:
        page = await files.list_by_owner("ada", 2, after)
        if not page:
            break
        seen += [f.id for f in page]
        after = FileCursor(page[-1].created_at, page[-1].id)
    assert seen == ["e", "d", "c", "b", "a"]


async def test_get_many_answers_what_get_would_in_one_read(
    files: FileRepository, backend: Backend
) -> None:
    clock = backend.clock
    ready, theirs = a_file(clock, "r"), a_file(clock, "t", owner_id="bob")
    pending = a_file(clock, "p", status=FileStatus.PENDING)
    for file in (ready, theirs, pending):
        await files.add(file)
    found = await files.get_many(["r", "t", "p", "nope", "r"])
    assert found == {"r": ready, "t": theirs, "p": pending}  # any owner's: the caller decides
    assert await files.get_many([]) == {}
    await files.delete("t")
    await backend.pass_time(3600)  # the pending upload expires
    assert await files.get_many(["r", "t", "p"]) == {"r": ready}


async def test_a_pending_file_is_gone_once_it_expires_but_listed_as_expired(
    files: FileRepository, backend: Backend
) -> None:
    clock = backend.clock
    await files.add(a_file(clock, "p", status=FileStatus.PENDING))
    await files.add(a_file(clock, "r"))
    await backend.pass_time(3599.999)
    assert await files.get("p") is not None
    assert await files.expired_uploads(10) == []
    await backend.pass_time(0.001)

    assert await files.get("p") is None
    assert [f.id for f in await files.list_by_owner("ada", 10)] == ["r"]
    assert [f.id for f in await files.expired_uploads(10)] == ["p"]
    assert await files.get("r") is not None


async def test_mongo_has_the_listing_index_and_a_ttl_on_pending_expiry(
    mongo_service: MongoService, clock: MemoryClock
) -> None:
    files = MongoFileRepository(mongo_service.managed, mongo_service.database, clock)
    await files.ensure_indexes()
    indexes = await mongo_service.index_keys("files")
    keys = indexes["owner_newest_first"]["key"]
    assert isinstance(keys, list | tuple)
    assert [name for name, _ in keys] == ["owner_id", "created_at", "_id"]
    assert indexes["pending_expires_at_ttl"]["expireAfterSeconds"] == 24 * 3600


async def test_reservations_stay_within_the_quota_and_releases_give_it_back(
    files: FileRepository,
) -> None:
    quota = StorageQuota(max_bytes=1000, max_files=3)
    assert await files.reserve("ada", 600, quota)
    assert not await files.reserve("ada", 401, quota)  # 1001 bytes
    assert await files.reserve("ada", 400, quota)
    assert not await files.reserve("ada", 1, quota)  # the bytes are full
    assert await files.reserve("ada", 0, quota)  # an empty file still fits: the third
    assert not await files.reserve("ada", 0, quota)  # the files are full
    assert await files.reserve("bob", 1000, quota)  # per owner
    assert not await files.reserve("cyd", 1001, quota)

    await files.release("ada", 400)  # 600 bytes in 2 files
    assert await files.reserve("ada", 400, quota)
    assert not await files.reserve("ada", 0, quota)
    assert await files.reserve("ada", 0, StorageQuota(max_bytes=2000, max_files=4))


async def test_bytes_only_reservations_count_bytes_and_no_file(files: FileRepository) -> None:
    """A ready file's thumbnails: more bytes in the quota, not one more file."""
    quota = StorageQuota(max_bytes=1000, max_files=1)
    assert await files.reserve("ada", 600, quota)
    assert await files.reserve("ada", 300, quota, files=0)
    assert not await files.reserve("ada", 101, quota, files=0)  # the bytes stay capped
    assert not await files.reserve("ada", 0, quota)  # and the one file is there
    await files.release("ada", 300, files=0)
    assert not await files.reserve("ada", 0, quota), "a bytes-only release frees no file"
    assert await files.reserve("ada", 400, quota, files=0)
    await files.release("ada", 1000)
    assert await files.reserve("ada", 1000, quota)


async def test_a_release_never_takes_usage_below_zero(files: FileRepository) -> None:
    quota = StorageQuota(max_bytes=100, max_files=1)
    await files.release("ada", 50)
    assert await files.reserve("ada", 100, quota)
    assert not await files.reserve("ada", 0, quota)


async def test_parallel_reservations_never_pass_the_quota_together(
    files: FileRepository,
) -> None:
    quota = StorageQuota(max_bytes=10_000, max_files=5)
    first = await asyncio.gather(*(files.reserve("ada", 10, quota) for _ in range(30)))
    assert sum(first) == 5
    new_owner = await asyncio.gather(*(files.reserve("bob", 3000, quota) for _ in range(30)))
    assert sum(new_owner) == 3  # the first reservations of an owner race too


async def test_an_unreachable_mongodb_is_service_unavailable(
    dead_mongo: ManagedClient[MongoClient], clock: MemoryClock
) -> None:
    files = MongoFileRepository(dead_mongo, "flowhub", clock)
    with pytest.raises(ServiceUnavailable):
        await files.get("f1")


async def test_every_of_owner_finds_each_status_and_forget_usage_drops_the_usage(
    files: FileRepository, clock: MemoryClock
) -> None:
    quota = StorageQuota(max_bytes=10_000, max_files=10)
    ready = a_file(clock, "f1")
    pending = a_file(clock, "f2", status=FileStatus.PENDING)
    expired = replace(a_file(clock, "f3", status=FileStatus.PENDING), expires_at=clock.now() - HOUR)
    deleting = a_file(clock, "f4").deleting()
    others = a_file(clock, "f5", owner_id="bob")
    for file in (ready, pending, expired, deleting, others):
        await files.add(file)
    assert await files.reserve("ada", 3000, quota, files=3)
    assert await files.reserve("bob", 100, quota)

    found = await files.every_of_owner("ada", 10)
    assert sorted(f.id for f in found) == ["f1", "f2", "f3", "f4"]
    assert len(await files.every_of_owner("ada", 2)) == 2
    assert await files.every_of_owner("nobody", 10) == []

    await files.forget_usage("ada")
    await files.forget_usage("ada")  # idempotent

    # ada's usage starts from nothing: the whole quota fits again; bob's is untouched
    assert await files.reserve("ada", 10_000, quota, files=10)
    assert not await files.reserve("bob", 10_000 - 99, quota)


async def test_mongo_forget_usage_removes_the_usage_document(
    mongo_service: MongoService, clock: MemoryClock
) -> None:
    repository = MongoFileRepository(mongo_service.managed, mongo_service.database, clock)
    assert await repository.reserve("ada", 10, StorageQuota(max_bytes=100, max_files=5))
    client = await mongo_service.managed.get()
    collection = client[mongo_service.database]["file_usage"]
    assert await collection.count_documents({"_id": "ada"}) == 1

    await repository.forget_usage("ada")

    assert await collection.count_documents({"_id": "ada"}) == 0


async def test_overview_counts_the_ready_files_with_their_thumbnails_and_the_extremes(
    files: FileRepository, clock: MemoryClock
) -> None:
    await files.add(replace(a_file(clock, "f1", age_s=30), size=100))
    thumbs = (Thumbnail(64, ThumbnailFit.COVER, 64, 64, 7),)
    await files.add(replace(a_file(clock, "f2", "bob", age_s=20), size=5000, thumbnails=thumbs))
    await files.add(replace(a_file(clock, "f3", age_s=10), size=50))
    await files.add(a_file(clock, "p1", status=FileStatus.PENDING))  # not stored yet
    overview = await files.overview(2)
    assert (overview.count, overview.bytes) == (3, 5157)
    assert [f.id for f in overview.largest] == ["f2", "f1"]
    assert [f.id for f in overview.recent] == ["f3", "f2"]
    assert overview.largest[0].thumbnails == thumbs
    empty = await files.overview(0)
    assert (empty.count, empty.bytes, empty.largest, empty.recent) == (3, 5157, (), ())
