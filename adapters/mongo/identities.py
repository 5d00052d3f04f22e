"""Provider identities in MongoDB (`identities`, unique by issuer and subject)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.mongo.client import Engine
from adapters.mongo.support import reachable
from domain.auth.identities import ProviderIdentity

if TYPE_CHECKING:
    from collections.abc import Sequence

    from motor.motor_asyncio import AsyncIOMotorCollection
    from odmantic import Model

    from adapters.lifecycle import ManagedClient
    from adapters.mongo.client import MongoClient


def _models() -> Sequence[type[Model]]:
    from adapters.mongo.documents import IdentityDocument

    return [IdentityDocument]


def _identity(found: dict[str, Any]) -> ProviderIdentity:
    return ProviderIdentity(
        id=str(found["_id"]),
        user_id=str(found["user_id"]),
        provider=str(found["provider"]),
        issuer=str(found["issuer"]),
        subject=str(found["subject"]),
        email=found.get("email"),
        created_at=found["created_at"],
    )


class MongoIdentityStore:
    def __init__(self, client: ManagedClient[MongoClient], database: str) -> None:
        self._engine = Engine(client, database, _models)

    async def ensure_indexes(self) -> None:
        await self._engine.ensure_indexes()

    async def _collection(self) -> AsyncIOMotorCollection[dict[str, Any]]:
        from adapters.mongo.documents import IdentityDocument

        engine = await self._engine.get()
        return engine.get_collection(IdentityDocument)

    async def add(self, identity: ProviderIdentity) -> bool:
        from pymongo.errors import DuplicateKeyError

        document = {
            "_id": identity.id,
            "user_id": identity.user_id,
            "provider": identity.provider,
            "issuer": identity.issuer,
            "subject": identity.subject,
            "email": identity.email,
            "created_at": identity.created_at,
        }
        async with reachable():
            try:
                await (await self._collection()).insert_one(document)
            except DuplicateKeyError:
                return False
        return True

    async def by_subject(self, issuer: str, subject: str) -> ProviderIdentity | None:
        async with reachable():
            found = await (await self._collection()).find_one(
                {"issuer": issuer, "subject": subject}
            )
        return None if found is None else _identity(found)

    async def for_user(self, user_id: str) -> list[ProviderIdentity]:
        async with reachable():
            cursor = (await self._collection()).find({"user_id": user_id})
            return [_identity(found) async for found in cursor]

    async def remove(self, user_id: str, identity_id: str) -> bool:
        async with reachable():
            done = await (await self._collection()).delete_one(
                {"_id": identity_id, "user_id": user_id}
            )
        return done.deleted_count == 1
