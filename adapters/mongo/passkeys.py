"""Passkeys in MongoDB (`passkeys`, `_id` the passkey's own id, `credential_id` unique).

A use is one `update_one` whose filter holds only while the counter is below the reported one
(or both are 0) and the challenge is newer than the last one spent, so concurrent uses of one
assertion match once."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from adapters.mongo.client import Engine
from adapters.mongo.support import reachable
from domain.auth.passkey import Passkey

if TYPE_CHECKING:
    from collections.abc import Sequence

    from motor.motor_asyncio import AsyncIOMotorCollection
    from odmantic import Model

    from adapters.lifecycle import ManagedClient
    from adapters.mongo.client import MongoClient


def _models() -> Sequence[type[Model]]:
    from adapters.mongo.documents import PasskeyDocument

    return [PasskeyDocument]


def _passkey(found: dict[str, Any]) -> Passkey:
    return Passkey(
        id=str(found["_id"]),
        user_id=str(found["user_id"]),
        credential_id=str(found["credential_id"]),
        public_key=bytes(found["public_key"]),
        sign_count=int(found["sign_count"]),
        transports=tuple(found.get("transports", ())),
        name=str(found["name"]),
        created_at=found["created_at"],
        last_used_at=found.get("last_used_at"),
        spent_before_ms=int(found.get("spent_before_ms", 0)),
    )


class MongoPasskeyStore:
    def __init__(self, client: ManagedClient[MongoClient], database: str) -> None:
        self._engine = Engine(client, database, _models)

    async def ensure_indexes(self) -> None:
        """The unique `credential_id` and the `user_id` index (idempotent)."""
        await self._engine.ensure_indexes()

    async def _collection(self) -> AsyncIOMotorCollection[dict[str, Any]]:
        from adapters.mongo.documents import PasskeyDocument

        engine = await self._engine.get()
        return engine.get_collection(PasskeyDocument)

    async def add(self, passkey: Passkey) -> bool:
        from pymongo.errors import DuplicateKeyError

        document = {
            "_id": passkey.id,
            "user_id": passkey.user_id,
            "credential_id": passkey.credential_id,
            "public_key": passkey.public_key,
            "sign_count": passkey.sign_count,
            "transports": list(passkey.transports),
            "name": passkey.name,
            "created_at": passkey.created_at,
            "last_used_at": passkey.last_used_at,
            "spent_before_ms": passkey.spent_before_ms,
        }
        async with reachable():
            try:
                await (await self._collection()).insert_one(document)
            except DuplicateKeyError:
                return False
        return True

    async def by_credential(self, credential_id: str) -> Passkey | None:
        async with reachable():
            found = await (await self._collection()).find_one({"credential_id": credential_id})
        return None if found is None else _passkey(found)

    async def for_user(self, user_id: str) -> list[Passkey]:
        async with reachable():
            cursor = (await self._collection()).find({"user_id": user_id})
            found = [_passkey(d) async for d in cursor]
        return sorted(found, key=lambda p: (p.created_at, p.id))

    async def rename(self, user_id: str, passkey_id: str, name: str) -> Passkey | None:
        from pymongo import ReturnDocument

        async with reachable():
            found = await (await self._collection()).find_one_and_update(
                {"_id": passkey_id, "user_id": user_id},
                {"$set": {"name": name}},
                return_document=ReturnDocument.AFTER,
            )
        return None if found is None else _passkey(found)

    async def delete(self, user_id: str, passkey_id: str) -> bool:
        async with reachable():
            result = await (await self._collection()).delete_one(
                {"_id": passkey_id, "user_id": user_id}
            )
        return bool(result.deleted_count)

    async def delete_all(self, user_id: str) -> None:
        async with reachable():
            await (await self._collection()).delete_many({"user_id": user_id})

    async def use(self, passkey_id: str, sign_count: int, issued_ms: int, at: datetime) -> bool:
        counter: dict[str, Any] | int = {"$lt": sign_count} if sign_count > 0 else 0
        async with reachable():
            result = await (await self._collection()).update_one(
                {
                    "_id": passkey_id,
                    "sign_count": counter,
                    "spent_before_ms": {"$lt": issued_ms},
                },
                {
                    "$set": {
                        "sign_count": sign_count,
                        "spent_before_ms": issued_ms,
                        "last_used_at": at,
                    }
                },
            )
        return bool(result.modified_count)
