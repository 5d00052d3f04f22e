from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.lifecycle import ManagedClient

if TYPE_CHECKING:
    from motor.motor_asyncio import AsyncIOMotorClient

type MongoClient = AsyncIOMotorClient[dict[str, Any]]


def mongo_client(uri: str, timeout_s: float) -> ManagedClient[MongoClient]:
    """A motor client with bounded timeouts, so a dead or hanging MongoDB fails requests fast.

    `timeoutMS` (client-side operation timeout) bounds each operation as a whole: server
    selection, waiting for a pooled connection and the reply. Without it a MongoDB that hung
    (SIGSTOP, a partition) held every request on a pooled connection for `socketTimeoutMS`
    (then 10 s) and the requests behind them longer still (tests/faults/test_mongo_down.py).
    """

    async def open_client() -> MongoClient:
        from motor.motor_asyncio import AsyncIOMotorClient

        timeout_ms = int(timeout_s * 1000)
        return AsyncIOMotorClient(
            uri,
            appname="flowhub",
            tz_aware=True,
            timeoutMS=timeout_ms,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            maxPoolSize=20,
        )

    async def close_client(client: MongoClient) -> None:
        client.close()

    return ManagedClient("mongo", open_client, close_client)


class MongoProbe:
    name = "mongo"
    adapter = "mongodb"

    def __init__(self, client: ManagedClient[MongoClient]) -> None:
        self._client = client

    async def check(self) -> None:
        client = await self._client.get()
        await client.admin.command("ping")
