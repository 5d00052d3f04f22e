"""The one place that builds the MongoDB driver: the motor client, and the odmantic engine
on it that every repository uses (docs/decisions/mongodb-driver.md: switching from motor to
pymongo's `AsyncMongoClient` happens here)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from adapters.lifecycle import ManagedClient
from adapters.mongo.support import reachable

if TYPE_CHECKING:
    from motor.motor_asyncio import AsyncIOMotorClient
    from odmantic import AIOEngine, Model
    from pymongo import IndexModel

type MongoClient = AsyncIOMotorClient[dict[str, Any]]
type Indexes = Callable[[], Sequence[tuple[type[Model], IndexModel]]]


def mongo_client(uri: str, timeout_s: float) -> ManagedClient[MongoClient]:
    """A motor client with bounded timeouts, so a dead or hanging MongoDB fails requests fast.

    `timeoutMS` (client-side operation timeout) bounds each operation as a whole: server
    selection, waiting for a pooled connection and the reply; without it a hung MongoDB
    (SIGSTOP, a partition) holds every request on a pooled connection for `socketTimeoutMS`
    and the requests behind them longer still.
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


class Engine:
    """An odmantic `AIOEngine` on the managed client. Its models' indexes (their
    `model_config["indexes"]` and `Field(unique=/index=)`, plus `indexes` for what depends
    on settings) are created idempotently by `ensure_indexes`, or before the first operation
    if nobody called it.

    Concurrent callers share one index creation: while MongoDB is down they all fail
    together after one timeout instead of queueing behind each other's.
    """

    def __init__(
        self,
        client: ManagedClient[MongoClient],
        database: str,
        models: Callable[[], Sequence[type[Model]]],
        indexes: Indexes = lambda: (),
    ) -> None:
        self._client = client
        self._database = database
        self._models = models
        self._indexes = indexes
        self._engine: AIOEngine | None = None
        self._indexed = False
        self._indexing: asyncio.Task[None] | None = None

    async def get(self) -> AIOEngine:
        """The engine, its indexes ensured. Call inside `reachable()`."""
        engine = await self._engine_now()
        if not self._indexed:
            await self._configure(engine, again=False)
        return engine

    async def ensure_indexes(self) -> None:
        async with reachable():
            await self._configure(await self._engine_now(), again=True)

    async def _configure(self, engine: AIOEngine, *, again: bool) -> None:
        """Join the index creation under way, or start one (`again`: even if done before)."""
        task = self._indexing
        if task is None or (task.done() and (again or _failed(task))):
            task = asyncio.create_task(self._create_indexes(engine), name="mongo-indexes")
            task.add_done_callback(_failed)  # retrieved even if every waiter gave up
            self._indexing = task
        await asyncio.shield(task)

    async def _create_indexes(self, engine: AIOEngine) -> None:
        await engine.configure_database(self._models())
        for model, index in self._indexes():
            await engine.get_collection(model).create_indexes([index])
        self._indexed = True

    async def _engine_now(self) -> AIOEngine:
        client = await self._client.get()
        if self._engine is None or self._engine.client is not client:
            from odmantic import AIOEngine

            self._engine = AIOEngine(client=client, database=self._database)
        return self._engine


def _failed(task: asyncio.Task[None]) -> bool:
    return task.cancelled() or task.exception() is not None


class MongoProbe:
    name = "mongo"
    adapter = "mongodb"

    def __init__(self, client: ManagedClient[MongoClient]) -> None:
        self._client = client

    async def check(self) -> None:
        client = await self._client.get()
        await client.admin.command("ping")
