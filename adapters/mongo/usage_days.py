"""The per-day usage counters (`usage_days`): one small document per UTC day, `_id`
`YYYY-MM-DD`, each counter `$inc`ed by an upsert (one write per flush, whatever the count)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.mongo.client import Engine
from adapters.mongo.support import reachable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from odmantic import Model

    from adapters.lifecycle import ManagedClient
    from adapters.mongo.client import MongoClient


def _models() -> Sequence[type[Model]]:
    from adapters.mongo.documents import UsageDayDocument

    return [UsageDayDocument]


class MongoUsageDays:
    def __init__(self, client: ManagedClient[MongoClient], database: str) -> None:
        self._engine = Engine(client, database, _models)

    async def add_log_bytes(self, day: str, n: int) -> None:
        from adapters.mongo.documents import UsageDayDocument

        async with reachable():
            collection = (await self._engine.get()).get_collection(UsageDayDocument)
            await collection.update_one({"_id": day}, {"$inc": {"log_bytes": n}}, upsert=True)

    async def log_bytes(self, day: str) -> int:
        from adapters.mongo.documents import UsageDayDocument

        async with reachable():
            collection = (await self._engine.get()).get_collection(UsageDayDocument)
            found = await collection.find_one({"_id": day}, {"log_bytes": 1})
        return int(found.get("log_bytes", 0)) if found else 0
