"""The database's size as Atlas counts it against the M0 tier's 512 MB: `dbStats`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.mongo.support import reachable

if TYPE_CHECKING:
    from adapters.lifecycle import ManagedClient
    from adapters.mongo.client import MongoClient


class MongoDatabaseUsage:
    def __init__(self, client: ManagedClient[MongoClient], database: str) -> None:
        self._client = client
        self._database = database

    async def bytes_used(self) -> int:
        """`storageSize + indexSize` (the bytes on disk, the quota Atlas enforces on shared
        tiers; `dataSize` is the uncompressed documents, larger than what is stored). One
        command, no document read."""
        async with reachable():
            client = await self._client.get()
            stats = await client[self._database].command("dbStats")
        return int(stats.get("storageSize", 0)) + int(stats.get("indexSize", 0))
