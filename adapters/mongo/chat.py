"""Rooms and messages in MongoDB (`rooms`, `messages`, odmantic).

`seq` comes from `last_seq` on the room's document, incremented atomically by
`find_one_and_update` ($inc), so concurrent senders on any instance get distinct numbers; the
unique index (room_id, seq) is the backstop. A message sent with a `client_id` has the id
`message_id_for(room, sender, client_id)`, so a retried send collides on `_id` and is
idempotent without an index of its own (one index entry less per message). Messages expire
`retention_days` after they were sent (a TTL index on `created_at`), so the free tier's
512 MB holds.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from adapters.mongo.client import Engine
from adapters.mongo.support import document, entity, reachable, stored_datetime
from domain.chat.errors import DuplicateMessage
from domain.chat.model import Attachment, Message, Room, RoomsOverview, message_id_for

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from odmantic import Model
    from pymongo import IndexModel

    from adapters.lifecycle import ManagedClient
    from adapters.mongo.client import MongoClient


def _rooms() -> Sequence[type[Model]]:
    from adapters.mongo.documents import RoomDocument

    return [RoomDocument]


def _messages() -> Sequence[type[Model]]:
    from adapters.mongo.documents import MessageDocument

    return [MessageDocument]


class MongoRoomRepository:
    def __init__(self, client: ManagedClient[MongoClient], database: str) -> None:
        self._engine = Engine(client, database, _rooms)

    async def ensure_indexes(self) -> None:
        await self._engine.ensure_indexes()

    async def add(self, room: Room) -> None:
        from adapters.mongo.documents import RoomDocument

        async with reachable():
            engine = await self._engine.get()
            await engine.get_collection(RoomDocument).insert_one(document(RoomDocument, room))

    async def get(self, room_id: str) -> Room | None:
        from adapters.mongo.documents import RoomDocument

        async with reachable():
            engine = await self._engine.get()
            found = await engine.find_one(RoomDocument, RoomDocument.id == room_id)
        return None if found is None else entity(Room, found)

    async def for_member(self, user_id: str) -> list[Room]:
        return await self._oldest_first({"member_ids": user_id})

    async def invited_to(self, user_id: str) -> list[Room]:
        return await self._oldest_first({"invited_ids": user_id})

    async def _oldest_first(self, query: dict[str, Any]) -> list[Room]:
        from odmantic.query import asc

        from adapters.mongo.documents import RoomDocument

        oldest = (asc(RoomDocument.created_at), asc(RoomDocument.id))
        async with reachable():
            engine = await self._engine.get()
            found = await engine.find(RoomDocument, query, sort=oldest)
        return [entity(Room, room) for room in found]

    async def overview(self, limit: int) -> RoomsOverview:
        """A count and two sorted finds (collection scans, for an administrator's page)."""
        from odmantic.query import desc

        from adapters.mongo.documents import RoomDocument

        async with reachable():
            engine = await self._engine.get()
            count = int(await engine.get_collection(RoomDocument).count_documents({}))
            if limit <= 0:
                return RoomsOverview(count, (), ())
            busiest = await engine.find(
                RoomDocument,
                {},
                sort=(desc(RoomDocument.last_seq), desc(RoomDocument.id)),
                limit=limit,
            )
            recent = await engine.find(
                RoomDocument,
                {},
                sort=(desc(RoomDocument.created_at), desc(RoomDocument.id)),
                limit=limit,
            )
        return RoomsOverview(
            count, tuple(entity(Room, r) for r in busiest), tuple(entity(Room, r) for r in recent)
        )

    async def invite(self, room_id: str, user_id: str) -> Room | None:
        return await self._update(
            room_id,
            {"$addToSet": {"invited_ids": user_id}},
            where={"member_ids": {"$ne": user_id}},
        )

    async def accept(self, room_id: str, user_id: str, invitee: str | None = None) -> Room | None:
        # conditional on the invitation: of concurrent accepts, one matches
        return await self._update(
            room_id,
            {
                "$pullAll": {"invited_ids": list({user_id, invitee or user_id})},
                "$addToSet": {"member_ids": user_id},
            },
            where={"invited_ids": invitee or user_id},
        )

    async def remove(self, room_id: str, user_id: str) -> Room | None:
        return await self._update(
            room_id, {"$pull": {"member_ids": user_id, "invited_ids": user_id}}
        )

    async def next_seq(self, room_id: str) -> int:
        found = await self._update(room_id, {"$inc": {"last_seq": 1}})
        if found is None:
            raise KeyError(room_id)
        return found.last_seq

    async def _update(
        self, room_id: str, update: dict[str, Any], where: dict[str, Any] | None = None
    ) -> Room | None:
        """One atomic update of the room (if it matches `where`), returning it as it is after."""
        from pymongo import ReturnDocument

        from adapters.mongo.documents import RoomDocument

        async with reachable():
            engine = await self._engine.get()
            found = await engine.get_collection(RoomDocument).find_one_and_update(
                {"_id": room_id, **(where or {})}, update, return_document=ReturnDocument.AFTER
            )
        return None if found is None else entity(Room, RoomDocument.model_validate_doc(found))


def _reads() -> Sequence[type[Model]]:
    from adapters.mongo.documents import ReadDocument

    return [ReadDocument]


class MongoReadMarks:
    """Read marks in `reads`, one small document per member and room, moved by `$max` (an
    upsert: concurrent marks never move it backwards)."""

    def __init__(self, client: ManagedClient[MongoClient], database: str) -> None:
        self._engine = Engine(client, database, _reads)

    async def ensure_indexes(self) -> None:
        await self._engine.ensure_indexes()

    async def advance(self, room_id: str, user_id: str, seq: int) -> int:
        from pymongo import ReturnDocument
        from pymongo.errors import DuplicateKeyError

        from adapters.mongo.documents import ReadDocument

        update = {"$max": {"seq": seq}, "$setOnInsert": {"room_id": room_id, "user_id": user_id}}
        async with reachable():
            collection = (await self._engine.get()).get_collection(ReadDocument)
            for attempt in range(2):  # two first marks racing: one inserts, the other updates
                try:
                    found = await collection.find_one_and_update(
                        {"_id": f"{room_id}:{user_id}"},
                        update,
                        upsert=True,
                        return_document=ReturnDocument.AFTER,
                    )
                    return int(found["seq"])
                except DuplicateKeyError:
                    if attempt:
                        raise
        raise AssertionError("unreachable")

    async def of_user(self, user_id: str, room_ids: Sequence[str]) -> dict[str, int]:
        from adapters.mongo.documents import ReadDocument

        if not room_ids:
            return {}
        ids = [f"{room_id}:{user_id}" for room_id in room_ids]
        async with reachable():
            collection = (await self._engine.get()).get_collection(ReadDocument)
            return {
                d["room_id"]: int(d["seq"]) async for d in collection.find({"_id": {"$in": ids}})
            }

    async def of_room(self, room_id: str) -> dict[str, int]:
        from adapters.mongo.documents import ReadDocument

        async with reachable():
            collection = (await self._engine.get()).get_collection(ReadDocument)
            return {
                d["user_id"]: int(d["seq"]) async for d in collection.find({"room_id": room_id})
            }

    async def forget(self, user_id: str) -> None:
        """One `delete_many` on `user_id` (no index of its own: a rare operation, an
        account's deletion, scans the collection)."""
        from adapters.mongo.documents import ReadDocument

        async with reachable():
            collection = (await self._engine.get()).get_collection(ReadDocument)
            await collection.delete_many({"user_id": user_id})


# Fields a new message leaves out when they hold these values; the model reads them back so.
UNSET_WHEN_DEFAULT: dict[str, object] = {
    "client_id": None,
    "edited_at": None,
    "deleted": False,
    "edit_id": None,
    "attachments": [],  # stored as a list
}


def _message(found: Model) -> Message:
    """The entity of a message document: its embedded attachments back into `Attachment`s."""
    message = entity(Message, found)
    embedded = getattr(found, "attachments", [])
    attachments = tuple(Attachment(**a.model_dump() | {"deleted": False}) for a in embedded)
    return replace(message, attachments=attachments)


class MongoMessageRepository:
    def __init__(
        self, client: ManagedClient[MongoClient], database: str, retention_days: int = 30
    ) -> None:
        def retention() -> Sequence[tuple[type[Model], IndexModel]]:
            from pymongo import IndexModel

            from adapters.mongo.documents import MessageDocument

            ttl_s = retention_days * 24 * 3600
            index = IndexModel("created_at", name="retention_ttl", expireAfterSeconds=ttl_s)
            return [(MessageDocument, index)]

        self._engine = Engine(client, database, _messages, retention)

    async def ensure_indexes(self) -> None:
        await self._engine.ensure_indexes()

    async def add(self, message: Message) -> None:
        from pymongo.errors import DuplicateKeyError

        from adapters.mongo.documents import MessageDocument

        stored = document(MessageDocument, message)
        for field, unset in UNSET_WHEN_DEFAULT.items():
            if stored.get(field) == unset:
                del stored[field]  # absent, not null: no bytes for it
        async with reachable():
            engine = await self._engine.get()
            try:
                await engine.get_collection(MessageDocument).insert_one(stored)
            except DuplicateKeyError as error:
                raise DuplicateMessage() from error

    async def by_client_id(self, room_id: str, sender_id: str, client_id: str) -> Message | None:
        from adapters.mongo.documents import MessageDocument as M

        async with reachable():
            engine = await self._engine.get()
            found = await engine.find_one(M, M.id == message_id_for(room_id, sender_id, client_id))
        return None if found is None else _message(found)

    async def page(
        self, room_id: str, limit: int, before: int | None = None, after: int | None = None
    ) -> list[Message]:
        """The `limit` messages after `after` (oldest first), else the last `limit` before
        `before` (or the newest): ascending by seq either way."""
        from odmantic.query import asc, desc

        from adapters.mongo.documents import MessageDocument as M

        query: dict[str, Any] = {"room_id": room_id}
        if after is not None:
            query["seq"] = {"$gt": after}
        elif before is not None:
            query["seq"] = {"$lt": before}
        order = asc(M.seq) if after is not None else desc(M.seq)
        async with reachable():
            engine = await self._engine.get()
            found = [_message(m) for m in await engine.find(M, query, sort=order, limit=limit)]
        return found if after is not None else found[::-1]

    async def get(self, room_id: str, message_id: str) -> Message | None:
        from adapters.mongo.documents import MessageDocument as M

        async with reachable():
            engine = await self._engine.get()
            found = await engine.find_one(M, (M.id == message_id) & (M.room_id == room_id))
        return None if found is None else _message(found)

    async def edit(
        self, room_id: str, message_id: str, body: str, edited_at: datetime, edit_id: str | None
    ) -> Message | None:
        changes: dict[str, Any] = {"body": body, "edited_at": stored_datetime(edited_at)}
        update: dict[str, Any] = {"$set": changes}
        if edit_id is None:
            update["$unset"] = {"edit_id": ""}
        else:
            changes["edit_id"] = edit_id
        live = {"_id": message_id, "room_id": room_id, "deleted": {"$ne": True}}
        return await self._update(live, update)

    async def delete(self, room_id: str, message_id: str) -> Message | None:
        update = {
            "$set": {"body": "", "deleted": True},
            # a tombstone keeps no trace of its files either (names are the sender's words)
            "$unset": {"edit_id": "", "attachments": ""},
        }
        return await self._update({"_id": message_id, "room_id": room_id}, update)

    async def has_attachment(self, room_id: str, file_id: str) -> bool:
        """One `find_one` on the partial index `attachment_rooms`."""
        from adapters.mongo.documents import MessageDocument

        query = {"attachments.id": file_id, "room_id": room_id, "deleted": {"$ne": True}}
        async with reachable():
            engine = await self._engine.get()
            found = await engine.get_collection(MessageDocument).find_one(
                query, projection={"_id": 1}
            )
        return found is not None

    async def tombstone_sender(self, sender_id: str) -> int:
        """One `update_many` with `delete`'s change, on the sender's live messages (no index
        on `sender_id`: a rare operation, an account's deletion, scans the collection)."""
        from adapters.mongo.documents import MessageDocument

        update = {
            "$set": {"body": "", "deleted": True},
            # a tombstone keeps no trace of its files either (names are the sender's words)
            "$unset": {"edit_id": "", "attachments": ""},
        }
        async with reachable():
            engine = await self._engine.get()
            done = await engine.get_collection(MessageDocument).update_many(
                {"sender_id": sender_id, "deleted": {"$ne": True}}, update
            )
        return int(done.modified_count)

    async def _update(self, query: dict[str, Any], update: dict[str, Any]) -> Message | None:
        """One atomic update of a message, returning it as it is after."""
        from pymongo import ReturnDocument

        from adapters.mongo.documents import MessageDocument

        async with reachable():
            engine = await self._engine.get()
            found = await engine.get_collection(MessageDocument).find_one_and_update(
                query, update, return_document=ReturnDocument.AFTER
            )
        if found is None:
            return None
        return _message(MessageDocument.model_validate_doc(found))
