"""What the MongoDB repositories share: failures in the domain's words, datetimes at
MongoDB's precision, and an odmantic engine whose indexes are made once.

Nothing here imports motor, pymongo or odmantic at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from domain.errors import ServiceUnavailable

if TYPE_CHECKING:
    from odmantic import AIOEngine, Model

    from adapters.lifecycle import ManagedClient
    from adapters.mongo.client import MongoClient


# The most a `reachable()` block may take (it may hold a few operations, each bounded by the
# client's `timeoutMS`, 2 s by default). motor runs pymongo on a pool of threads (5 per core):
# with MongoDB hanging, requests beyond the pool's size queue for a thread, then spend their own
# timeout; this deadline gives up on them (a queued operation is cancelled before it starts),
# so no request waits longer than this whatever the queue (tests/faults/test_mongo_down.py).
OPERATION_DEADLINE_S = 3.0


@asynccontextmanager
async def reachable(deadline_s: float = OPERATION_DEADLINE_S) -> AsyncIterator[None]:
    """Turn a MongoDB that cannot be reached (no server selected, network error or timeout)
    or that does not answer within `deadline_s` into `ServiceUnavailable`.

    A write given up on by the deadline may still complete: chat messages carry `client_id`
    for a safe retry."""
    from pymongo.errors import ConnectionFailure, PyMongoError

    try:
        async with asyncio.timeout(deadline_s):
            yield
    except TimeoutError as error:
        raise ServiceUnavailable() from error
    except PyMongoError as error:
        # ConnectionFailure: AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError, ...
        # `timeout`: also ExecutionTimeout, WTimeoutError and CSOT timeouts.
        if isinstance(error, ConnectionFailure) or error.timeout:
            raise ServiceUnavailable() from error
        raise


def stored_datetime(value: datetime) -> datetime:
    """`value` as MongoDB keeps it: UTC, truncated to the millisecond (a naive value is
    taken to be UTC already)."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.replace(microsecond=aware.microsecond // 1000 * 1000)


def loaded_datetime(value: datetime) -> datetime:
    """A datetime read back, as the domain expects it: timezone-aware, in `datetime.UTC`."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Engine:
    """An odmantic `AIOEngine` on a managed motor client, whose models' indexes are created
    (idempotently) by `ensure_indexes`, or before the first operation if nobody called it.

    Concurrent callers share one index creation: while MongoDB is down they all fail
    together after one timeout instead of queueing behind each other's.
    """

    def __init__(
        self,
        client: ManagedClient[MongoClient],
        database: str,
        models: Callable[[], Sequence[type[Model]]],
    ) -> None:
        self._client = client
        self._database = database
        self._models = models
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
        self._indexed = True

    async def _engine_now(self) -> AIOEngine:
        client = await self._client.get()
        if self._engine is None or self._engine.client is not client:
            from odmantic import AIOEngine

            self._engine = AIOEngine(client=client, database=self._database)
        return self._engine


def _failed(task: asyncio.Task[None]) -> bool:
    return task.cancelled() or task.exception() is not None
