"""Refresh-token session families in MongoDB (`sessions`, odmantic).

A TTL index on `expires_at` deletes expired families; MongoDB's TTL monitor runs only every
60 s, so every read also treats `expires_at <= now` (on the injected clock) as absent.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from adapters.mongo.client import Engine
from adapters.mongo.support import document, entity, reachable, stored_datetime
from domain.auth.model import SessionFamily
from domain.errors import Conflict

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from odmantic import Model

    from adapters.lifecycle import ManagedClient
    from adapters.mongo.client import MongoClient
    from ports.clock import Clock


# a user logging in faster than logout-all deletes: what the last round leaves is a new login
REVOKE_ALL_ROUNDS = 3


def _models() -> Sequence[type[Model]]:
    from adapters.mongo.documents import SessionDocument

    return [SessionDocument]


class MongoSessionRepository:
    def __init__(self, client: ManagedClient[MongoClient], database: str, clock: Clock) -> None:
        self._engine = Engine(client, database, _models)
        self._clock = clock

    async def ensure_indexes(self) -> None:
        """Create the `user_id` index and the TTL index on `expires_at` (idempotent); also
        done before first use."""
        await self._engine.ensure_indexes()

    async def add(self, family: SessionFamily) -> None:
        from pymongo.errors import DuplicateKeyError

        from adapters.mongo.documents import SessionDocument

        async with reachable():
            engine = await self._engine.get()
            try:
                await engine.get_collection(SessionDocument).insert_one(
                    document(SessionDocument, family)
                )
            except DuplicateKeyError as error:
                raise Conflict("A session family with this id already exists.") from error

    async def get(self, family_id: str) -> SessionFamily | None:
        from adapters.mongo.documents import SessionDocument

        now = stored_datetime(self._clock.now())
        async with reachable():
            engine = await self._engine.get()
            found = await engine.find_one(
                SessionDocument,
                SessionDocument.id == family_id,
                SessionDocument.expires_at > now,
            )
        return None if found is None else entity(SessionFamily, found)

    async def for_user(self, user_id: str) -> list[SessionFamily]:
        """One query on the `user_id` index."""
        from adapters.mongo.documents import SessionDocument

        now = stored_datetime(self._clock.now())
        async with reachable():
            engine = await self._engine.get()
            found = await engine.find(
                SessionDocument,
                SessionDocument.user_id == user_id,
                SessionDocument.expires_at > now,
            )
        return [entity(SessionFamily, family) for family in found]

    async def advance(
        self,
        family_id: str,
        from_generation: int,
        current_hash: str,
        rotated_at: datetime,
        expires_at: datetime,
    ) -> bool:
        """One conditional update: the filter on `generation` makes the server pick exactly
        one winner among concurrent rotations, and the update pipeline moves the stored
        `current_hash` to `previous_hash` in the same write (no read before it)."""
        from adapters.mongo.documents import SessionDocument

        now = stored_datetime(self._clock.now())
        async with reachable():
            engine = await self._engine.get()
            result = await engine.get_collection(SessionDocument).update_one(
                {"_id": family_id, "generation": from_generation, "expires_at": {"$gt": now}},
                [
                    {
                        "$set": {
                            "previous_hash": "$current_hash",
                            # $literal: in a pipeline a string starting with "$" is a field path
                            "current_hash": {"$literal": current_hash},
                            "generation": {"$literal": from_generation + 1},
                            "rotated_at": {"$literal": stored_datetime(rotated_at)},
                            "expires_at": {"$literal": stored_datetime(expires_at)},
                        }
                    }
                ],
            )
        return result.modified_count == 1

    async def take_grace(self, family_id: str, generation: int) -> bool:
        """One conditional update: of concurrent takers, the server lets exactly one set
        `grace_generation` (`$ne` also matches a family stored before the field existed)."""
        from adapters.mongo.documents import SessionDocument

        now = stored_datetime(self._clock.now())
        async with reachable():
            engine = await self._engine.get()
            result = await engine.get_collection(SessionDocument).update_one(
                {
                    "_id": family_id,
                    "generation": generation,
                    "grace_generation": {"$ne": generation},
                    "expires_at": {"$gt": now},
                },
                {"$set": {"grace_generation": generation}},
            )
        return result.modified_count == 1

    async def revoke(self, family_id: str) -> None:
        from adapters.mongo.documents import SessionDocument

        async with reachable():
            engine = await self._engine.get()
            await engine.remove(SessionDocument, SessionDocument.id == family_id, just_one=True)

    async def revoke_all(self, user_id: str) -> list[str]:
        """The ids are read, then exactly those are deleted: a family whose id was not read
        (a login racing this call) is deleted by the next round, never without its id being
        returned, so no access token of a deleted family escapes the revocation list."""
        from adapters.mongo.documents import SessionDocument

        revoked: list[str] = []
        async with reachable():
            engine = await self._engine.get()
            collection = engine.get_collection(SessionDocument)
            for _ in range(REVOKE_ALL_ROUNDS):
                cursor = collection.find({"user_id": user_id}, {"_id": 1})
                ids = [str(doc["_id"]) async for doc in cursor]
                if not ids:
                    break
                await collection.delete_many({"_id": {"$in": ids}})
                revoked += ids
        return revoked

    async def count_by_user(self, user_ids: Collection[str]) -> dict[str, int]:
        """One aggregation on the `user_id` index: `$match` then `$group`."""
        from adapters.mongo.documents import SessionDocument

        counts = dict.fromkeys(user_ids, 0)
        if not counts:
            return counts
        now = stored_datetime(self._clock.now())
        pipeline: list[dict[str, Any]] = [
            {"$match": {"user_id": {"$in": list(counts)}, "expires_at": {"$gt": now}}},
            {"$group": {"_id": "$user_id", "n": {"$sum": 1}}},
        ]
        async with reachable():
            engine = await self._engine.get()
            cursor = engine.get_collection(SessionDocument).aggregate(pipeline)
            async for row in cursor:
                counts[str(row["_id"])] = int(row["n"])
        return counts
