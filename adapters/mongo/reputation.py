"""The suppression list (`mail_suppressions`) and the daily mail counters (`mail_days`).

Both are small: one 113-byte document per suppressed address, one 95-byte document per day.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from adapters.mongo.client import Engine
from adapters.mongo.support import reachable, stored_datetime
from domain.mail.model import MailDay, MailOutcome, SuppressionReason

if TYPE_CHECKING:
    from collections.abc import Sequence

    from odmantic import Model

    from adapters.lifecycle import ManagedClient
    from adapters.mongo.client import MongoClient


def _models() -> Sequence[type[Model]]:
    from adapters.mongo.documents import MailDayDocument, SuppressionDocument

    return [SuppressionDocument, MailDayDocument]


class MongoMailReputation:
    def __init__(self, client: ManagedClient[MongoClient], database: str) -> None:
        self._engine = Engine(client, database, _models)

    async def suppress(self, key: str, reason: SuppressionReason, at: datetime) -> bool:
        """One upsert: the first report of an address inserts it, later ones change nothing."""
        from adapters.mongo.documents import SuppressionDocument

        async with reachable():
            collection = (await self._engine.get()).get_collection(SuppressionDocument)
            result = await collection.update_one(
                {"_id": key},
                {"$setOnInsert": {"reason": reason.value, "at": stored_datetime(at)}},
                upsert=True,
            )
        return result.upserted_id is not None

    async def is_suppressed(self, key: str) -> bool:
        from adapters.mongo.documents import SuppressionDocument

        async with reachable():
            collection = (await self._engine.get()).get_collection(SuppressionDocument)
            return await collection.find_one({"_id": key}, {"_id": 1}) is not None

    async def suppressed_count(self) -> int:
        from adapters.mongo.documents import SuppressionDocument

        async with reachable():
            collection = (await self._engine.get()).get_collection(SuppressionDocument)
            return int(await collection.estimated_document_count())

    async def count(self, day: str, outcome: MailOutcome, n: int = 1) -> None:
        from adapters.mongo.documents import MailDayDocument

        async with reachable():
            collection = (await self._engine.get()).get_collection(MailDayDocument)
            await collection.update_one({"_id": day}, {"$inc": {outcome.value: n}}, upsert=True)

    async def days(self, first: str, last: str) -> list[MailDay]:
        from adapters.mongo.documents import MailDayDocument

        fields = [o.value for o in MailOutcome]
        async with reachable():
            collection = (await self._engine.get()).get_collection(MailDayDocument)
            found = collection.find({"_id": {"$gte": first, "$lte": last}}).sort("_id", 1)
            return [
                MailDay(str(d["_id"]), **{f: int(d.get(f, 0)) for f in fields}) async for d in found
            ]
