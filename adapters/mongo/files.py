"""Files' metadata in MongoDB (`files`, odmantic): newest first per owner through the index
(owner_id, created_at, _id); pending records carry `expires_at`, read as gone once it passes
(on the injected clock) and dropped by a TTL index a day later."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from adapters.mongo.client import Engine
from adapters.mongo.support import document, entity, reachable, stored_datetime
from domain.errors import Conflict
from domain.files.model import (
    FileCursor,
    FilesOverview,
    FileStatus,
    StorageQuota,
    StoredFile,
    Thumbnail,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from odmantic import Model

    from adapters.lifecycle import ManagedClient
    from adapters.mongo.client import MongoClient
    from ports.clock import Clock


def _models() -> Sequence[type[Model]]:
    from adapters.mongo.documents import FileDocument, FileUsageDocument

    return [FileDocument, FileUsageDocument]


def _loaded(found: Model) -> StoredFile:
    """The entity of a file document: its embedded thumbnails back into `Thumbnail`s."""
    file = entity(StoredFile, found)
    embedded: list[Model] = list(file.thumbnails)  # type: ignore[arg-type]
    return replace(file, thumbnails=tuple(Thumbnail(**t.model_dump()) for t in embedded))


def _visible(now: datetime) -> dict[str, Any]:
    return {
        "$or": [
            {"status": FileStatus.READY.value},
            {"status": FileStatus.PENDING.value, "expires_at": {"$gt": now}},
        ]
    }


class MongoFileRepository:
    def __init__(self, client: ManagedClient[MongoClient], database: str, clock: Clock) -> None:
        self._engine = Engine(client, database, _models)
        self._clock = clock

    async def ensure_indexes(self) -> None:
        """Create the listing index and the TTL index of pending uploads (idempotent)."""
        await self._engine.ensure_indexes()

    async def add(self, file: StoredFile) -> None:
        from pymongo.errors import DuplicateKeyError

        from adapters.mongo.documents import FileDocument

        async with reachable():
            engine = await self._engine.get()
            try:
                await engine.get_collection(FileDocument).insert_one(document(FileDocument, file))
            except DuplicateKeyError as error:
                raise Conflict("A file with this id already exists.") from error

    async def get(self, file_id: str) -> StoredFile | None:
        from adapters.mongo.documents import FileDocument

        now = stored_datetime(self._clock.now())
        query = {
            "_id": file_id,
            "$or": [
                {"status": {"$ne": FileStatus.PENDING.value}},
                {"expires_at": {"$gt": now}},
            ],
        }
        async with reachable():
            engine = await self._engine.get()
            found = await engine.find_one(FileDocument, query)
        return None if found is None else _loaded(found)

    async def get_many(self, file_ids: Sequence[str]) -> dict[str, StoredFile]:
        """One `find` on `_id` `$in` the ids (the primary key), with `get`'s expiry filter."""
        from adapters.mongo.documents import FileDocument

        wanted = list(dict.fromkeys(file_ids))
        if not wanted:
            return {}
        now = stored_datetime(self._clock.now())
        query = {
            "_id": {"$in": wanted},
            "$or": [
                {"status": {"$ne": FileStatus.PENDING.value}},
                {"expires_at": {"$gt": now}},
            ],
        }
        async with reachable():
            engine = await self._engine.get()
            found = await engine.find(FileDocument, query, limit=len(wanted))
        return {f.id: f for f in map(_loaded, found)}

    async def list_by_owner(
        self, owner_id: str, limit: int, after: FileCursor | None = None
    ) -> list[StoredFile]:
        from odmantic.query import desc

        from adapters.mongo.documents import FileDocument

        now = stored_datetime(self._clock.now())
        query: dict[str, Any] = {"owner_id": owner_id, **_visible(now)}
        if after is not None:
            at = stored_datetime(after.created_at)
            query = {
                "$and": [
                    query,
                    {
                        "$or": [
                            {"created_at": {"$lt": at}},
                            {"created_at": at, "_id": {"$lt": after.file_id}},
                        ]
                    },
                ]
            }
        newest = (desc(FileDocument.created_at), desc(FileDocument.id))
        async with reachable():
            engine = await self._engine.get()
            found = await engine.find(FileDocument, query, sort=newest, limit=limit)
        return [_loaded(file) for file in found]

    async def update(self, file: StoredFile) -> None:
        from adapters.mongo.documents import FileDocument

        async with reachable():
            engine = await self._engine.get()
            await engine.get_collection(FileDocument).replace_one(
                {"_id": file.id}, document(FileDocument, file)
            )

    async def set_public_token(self, file_id: str, expected: str | None, token: str | None) -> bool:
        from adapters.mongo.documents import FileDocument

        # `public_token: None` also matches a document written before the field existed
        query = {"_id": file_id, "status": FileStatus.READY.value, "public_token": expected}
        async with reachable():
            engine = await self._engine.get()
            done = await engine.get_collection(FileDocument).update_one(
                query, {"$set": {"public_token": token}}
            )
        return done.modified_count == 1

    async def delete(self, file_id: str) -> None:
        from adapters.mongo.documents import FileDocument

        async with reachable():
            engine = await self._engine.get()
            await engine.remove(FileDocument, FileDocument.id == file_id, just_one=True)

    async def reserve(self, owner_id: str, size: int, quota: StorageQuota, files: int = 1) -> bool:
        from pymongo.errors import DuplicateKeyError

        from adapters.mongo.documents import FileUsageDocument

        if size > quota.max_bytes or quota.max_files < files:
            return False
        room = {
            "_id": owner_id,
            "bytes": {"$lte": quota.max_bytes - size},
            "files": {"$lte": quota.max_files - files},
        }
        more = {"$inc": {"bytes": size, "files": files}}
        async with reachable():
            usage = (await self._engine.get()).get_collection(FileUsageDocument)
            try:
                await usage.update_one(room, more, upsert=True)
            except DuplicateKeyError:
                # the owner's usage exists (maybe inserted at this moment by a parallel first
                # upload) and did not match: the plain update says whether there is room
                found = await usage.update_one(room, more)
                return bool(found.matched_count)
        return True

    async def release(self, owner_id: str, size: int, files: int = 1) -> None:
        from adapters.mongo.documents import FileUsageDocument

        held = {"_id": owner_id, "bytes": {"$gte": size}, "files": {"$gte": files}}
        async with reachable():
            usage = (await self._engine.get()).get_collection(FileUsageDocument)
            await usage.update_one(held, {"$inc": {"bytes": -size, "files": -files}})

    async def every_of_owner(self, owner_id: str, limit: int) -> list[StoredFile]:
        """On the listing index's `owner_id` prefix, whatever the status."""
        from adapters.mongo.documents import FileDocument

        async with reachable():
            engine = await self._engine.get()
            found = await engine.find(FileDocument, {"owner_id": owner_id}, limit=limit)
        return [_loaded(file) for file in found]

    async def forget_usage(self, owner_id: str) -> None:
        from adapters.mongo.documents import FileUsageDocument

        async with reachable():
            usage = (await self._engine.get()).get_collection(FileUsageDocument)
            await usage.delete_one({"_id": owner_id})

    async def overview(self, limit: int) -> FilesOverview:
        """A count, one `$group` summing sizes and thumbnails, two sorted finds: a
        collection scan each, which an administrator's page can afford."""
        from odmantic.query import desc

        from adapters.mongo.documents import FileDocument

        ready = {"status": FileStatus.READY.value}
        pipeline: list[dict[str, Any]] = [
            {"$match": ready},
            {
                "$group": {
                    "_id": None,
                    "size": {"$sum": "$size"},
                    "thumbnails": {"$sum": {"$sum": "$thumbnails.bytes"}},
                }
            },
        ]
        async with reachable():
            engine = await self._engine.get()
            files = engine.get_collection(FileDocument)
            count = int(await files.count_documents(ready))
            total = 0
            async for row in files.aggregate(pipeline):
                total = int(row["size"] or 0) + int(row["thumbnails"] or 0)
            if limit <= 0:  # the counts only (the gauges): no find
                return FilesOverview(count, total, (), ())
            largest = await engine.find(
                FileDocument,
                ready,
                sort=(desc(FileDocument.size), desc(FileDocument.id)),
                limit=limit,
            )
            recent = await engine.find(
                FileDocument,
                ready,
                sort=(desc(FileDocument.created_at), desc(FileDocument.id)),
                limit=limit,
            )
        return FilesOverview(
            count, total, tuple(_loaded(f) for f in largest), tuple(_loaded(f) for f in recent)
        )

    async def expired_uploads(self, limit: int) -> list[StoredFile]:
        from odmantic.query import asc

        from adapters.mongo.documents import FileDocument

        now = stored_datetime(self._clock.now())
        query = {"status": FileStatus.PENDING.value, "expires_at": {"$lte": now}}
        soonest = (asc(FileDocument.expires_at), asc(FileDocument.id))
        async with reachable():
            engine = await self._engine.get()
            found = await engine.find(FileDocument, query, sort=soonest, limit=limit)
        return [_loaded(file) for file in found]
