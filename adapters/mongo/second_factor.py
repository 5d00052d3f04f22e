"""Second factors in MongoDB (`second_factors`, one document per user, `_id` the user's id).

Each spend is one `update_one` whose filter holds only while the spend is allowed (the step
after the last, the code still there, the challenge not yet spent), so concurrent spends of
the same thing match once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.mongo.client import Engine
from adapters.mongo.support import reachable
from domain.auth.model import SecondFactor

if TYPE_CHECKING:
    from collections.abc import Sequence

    from motor.motor_asyncio import AsyncIOMotorCollection
    from odmantic import Model

    from adapters.lifecycle import ManagedClient
    from adapters.mongo.client import MongoClient


def _models() -> Sequence[type[Model]]:
    from adapters.mongo.documents import SecondFactorDocument

    return [SecondFactorDocument]


class MongoSecondFactorStore:
    def __init__(self, client: ManagedClient[MongoClient], database: str) -> None:
        self._engine = Engine(client, database, _models)

    async def _collection(self) -> AsyncIOMotorCollection[dict[str, Any]]:
        from adapters.mongo.documents import SecondFactorDocument

        engine = await self._engine.get()
        return engine.get_collection(SecondFactorDocument)

    async def get(self, user_id: str) -> SecondFactor | None:
        async with reachable():
            found = await (await self._collection()).find_one({"_id": user_id})
        if found is None:
            return None
        return SecondFactor(
            user_id=str(found["_id"]),
            secret=str(found["secret"]),
            enabled=bool(found["enabled"]),
            recovery_hashes=tuple(found.get("recovery_hashes", ())),
            last_step=int(found.get("last_step", -1)),
            spent_before_ms=int(found.get("spent_before_ms", 0)),
        )

    async def begin(self, factor: SecondFactor) -> bool:
        """An upsert filtered on `enabled: false`: an enabled factor does not match, and its
        `_id` then refuses the insert."""
        from pymongo.errors import DuplicateKeyError

        pending = {
            "secret": factor.secret,
            "enabled": False,
            "recovery_hashes": [],
            "last_step": -1,
            "spent_before_ms": factor.spent_before_ms,
        }
        async with reachable():
            collection = await self._collection()
            try:
                await collection.replace_one(
                    {"_id": factor.user_id, "enabled": False}, pending, upsert=True
                )
            except DuplicateKeyError:
                return False
        return True

    async def enable(
        self, user_id: str, secret: str, recovery_hashes: tuple[str, ...], step: int
    ) -> bool:
        changes = {"enabled": True, "recovery_hashes": list(recovery_hashes), "last_step": step}
        return await self._update(
            {"_id": user_id, "enabled": False, "secret": secret}, {"$set": changes}
        )

    async def spend_step(self, user_id: str, step: int, issued_ms: int) -> bool:
        return await self._update(
            self._usable(user_id, issued_ms) | {"last_step": {"$lt": step}},
            {"$set": {"last_step": step}, "$max": {"spent_before_ms": issued_ms}},
        )

    async def spend_recovery(self, user_id: str, code_hash: str, issued_ms: int) -> bool:
        return await self._update(
            self._usable(user_id, issued_ms) | {"recovery_hashes": code_hash},
            {"$pull": {"recovery_hashes": code_hash}, "$max": {"spent_before_ms": issued_ms}},
        )

    async def spend_challenge(self, user_id: str, issued_ms: int) -> bool:
        if issued_ms <= 0:
            return False
        return await self._update(
            self._usable(user_id, issued_ms), {"$set": {"spent_before_ms": issued_ms}}
        )

    async def replace_recovery(self, user_id: str, recovery_hashes: tuple[str, ...]) -> bool:
        return await self._update(
            {"_id": user_id, "enabled": True},
            {"$set": {"recovery_hashes": list(recovery_hashes)}},
        )

    async def delete(self, user_id: str) -> None:
        async with reachable():
            await (await self._collection()).delete_one({"_id": user_id})

    @staticmethod
    def _usable(user_id: str, issued_ms: int) -> dict[str, Any]:
        wanted: dict[str, Any] = {"_id": user_id, "enabled": True}
        if issued_ms:
            wanted["spent_before_ms"] = {"$lt": issued_ms}
        return wanted

    async def _update(self, wanted: dict[str, Any], change: dict[str, Any]) -> bool:
        async with reachable():
            result = await (await self._collection()).update_one(wanted, change)
        return bool(result.modified_count)
