"""Rooms and messages in MongoDB (`rooms`, `messages`), through motor's collections.

`seq` comes from `last_seq` on the room's document, incremented atomically by
`find_one_and_update` ($inc), so concurrent senders on any instance get distinct numbers; the
unique index (room_id, seq) is the backstop. The unique partial index (room_id, sender_id,
client_id) makes a retried send idempotent. Messages expire `retention_days` after they were
sent (a TTL index on `created_at`), so the free tier's 512 MB holds.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from adapters.mongo.support import loaded_datetime, reachable, stored_datetime
from domain.chat.errors import DuplicateMessage
from domain.chat.model import Message, Room

if TYPE_CHECKING:
    from adapters.lifecycle import ManagedClient
    from adapters.mongo.client import MongoClient


class _Collections:
    """A collection of the database, its indexes created once (or again on request)."""

    def __init__(
        self,
        client: ManagedClient[MongoClient],
        database: str,
        name: str,
        indexes: list[dict[str, Any]],
    ) -> None:
        self._client = client
        self._database = database
        self._name = name
        self._indexes = indexes
        self._indexed = False
        self._lock = asyncio.Lock()

    async def get(self, *, ensure: bool = True) -> Any:
        client = await self._client.get()
        collection = client[self._database][self._name]
        if ensure and not self._indexed:
            await self.ensure_indexes()
        return collection

    async def ensure_indexes(self) -> None:
        async with self._lock:
            collection = await self.get(ensure=False)
            for index in self._indexes:
                spec = dict(index)
                keys = spec.pop("keys")
                await collection.create_index(keys, **spec)
            self._indexed = True


class MongoRoomRepository:
    def __init__(self, client: ManagedClient[MongoClient], database: str) -> None:
        self._rooms = _Collections(
            client,
            database,
            "rooms",
            [{"keys": [("member_ids", 1), ("created_at", 1)], "name": "member_rooms"}],
        )

    async def ensure_indexes(self) -> None:
        async with reachable():
            await self._rooms.ensure_indexes()

    async def add(self, room: Room) -> None:
        async with reachable():
            rooms = await self._rooms.get()
            await rooms.insert_one(_room_doc(room))

    async def get(self, room_id: str) -> Room | None:
        async with reachable():
            rooms = await self._rooms.get()
            found = await rooms.find_one({"_id": room_id})
        return None if found is None else _room(found)

    async def for_member(self, user_id: str) -> list[Room]:
        async with reachable():
            rooms = await self._rooms.get()
            cursor = rooms.find({"member_ids": user_id}).sort([("created_at", 1), ("_id", 1)])
            return [_room(doc) async for doc in cursor]

    async def add_member(self, room_id: str, user_id: str) -> Room | None:
        from pymongo import ReturnDocument

        async with reachable():
            rooms = await self._rooms.get()
            found = await rooms.find_one_and_update(
                {"_id": room_id},
                {"$addToSet": {"member_ids": user_id}},
                return_document=ReturnDocument.AFTER,
            )
        return None if found is None else _room(found)

    async def next_seq(self, room_id: str) -> int:
        from pymongo import ReturnDocument

        async with reachable():
            rooms = await self._rooms.get()
            found = await rooms.find_one_and_update(
                {"_id": room_id},
                {"$inc": {"last_seq": 1}},
                projection={"last_seq": 1},
                return_document=ReturnDocument.AFTER,
            )
        if found is None:
            raise KeyError(room_id)
        return int(found["last_seq"])


class MongoMessageRepository:
    def __init__(
        self, client: ManagedClient[MongoClient], database: str, retention_days: int = 90
    ) -> None:
        self._messages = _Collections(
            client,
            database,
            "messages",
            [
                {"keys": [("room_id", 1), ("seq", 1)], "name": "room_seq", "unique": True},
                {
                    "keys": [("room_id", 1), ("sender_id", 1), ("client_id", 1)],
                    "name": "room_sender_client_id",
                    "unique": True,
                    "partialFilterExpression": {"client_id": {"$type": "string"}},
                },
                {
                    "keys": [("created_at", 1)],
                    "name": "retention_ttl",
                    "expireAfterSeconds": retention_days * 24 * 3600,
                },
            ],
        )

    async def ensure_indexes(self) -> None:
        async with reachable():
            await self._messages.ensure_indexes()

    async def add(self, message: Message) -> None:
        from pymongo.errors import DuplicateKeyError

        async with reachable():
            messages = await self._messages.get()
            try:
                await messages.insert_one(_message_doc(message))
            except DuplicateKeyError as error:
                raise DuplicateMessage() from error

    async def by_client_id(self, room_id: str, sender_id: str, client_id: str) -> Message | None:
        async with reachable():
            messages = await self._messages.get()
            found = await messages.find_one(
                {"room_id": room_id, "sender_id": sender_id, "client_id": client_id}
            )
        return None if found is None else _message(found)

    async def page(
        self, room_id: str, limit: int, before: int | None = None, after: int | None = None
    ) -> list[Message]:
        query: dict[str, Any] = {"room_id": room_id}
        async with reachable():
            messages = await self._messages.get()
            if after is not None:
                query["seq"] = {"$gt": after}
                cursor = messages.find(query).sort("seq", 1).limit(limit)
                return [_message(doc) async for doc in cursor]
            if before is not None:
                query["seq"] = {"$lt": before}
            cursor = messages.find(query).sort("seq", -1).limit(limit)
            found = [_message(doc) async for doc in cursor]
        found.reverse()
        return found


def _room_doc(room: Room) -> dict[str, Any]:
    return {
        "_id": room.id,
        "name": room.name,
        "member_ids": list(room.member_ids),
        "simulated": room.simulated,
        "created_at": stored_datetime(room.created_at),
        "last_seq": room.last_seq,
    }


def _room(doc: dict[str, Any]) -> Room:
    return Room(
        id=doc["_id"],
        name=doc["name"],
        member_ids=tuple(doc["member_ids"]),
        simulated=bool(doc["simulated"]),
        created_at=loaded_datetime(doc["created_at"]),
        last_seq=int(doc.get("last_seq", 0)),
    )


def _message_doc(message: Message) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": message.id,
        "room_id": message.room_id,
        "sender_id": message.sender_id,
        "body": message.body,
        "seq": message.seq,
        "created_at": stored_datetime(message.created_at),
    }
    if message.client_id is not None:
        doc["client_id"] = message.client_id
    return doc


def _message(doc: dict[str, Any]) -> Message:
    return Message(
        id=doc["_id"],
        room_id=doc["room_id"],
        sender_id=doc["sender_id"],
        body=doc["body"],
        seq=int(doc["seq"]),
        created_at=loaded_datetime(doc["created_at"]),
        client_id=doc.get("client_id"),
    )
