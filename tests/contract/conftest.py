"""Shared fixtures of the contract suites: clients of the real services and a clock.

Each suite parametrizes its own port fixture over the memory adapter and the real one; the
real ones come from here. The service clients are opened once per session (one connection
pool for the whole suite) and each test gets a clean database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from adapters.lifecycle import ManagedClient
from adapters.memory.clock import MemoryClock
from adapters.mongo.client import MongoClient, mongo_client
from adapters.redis.client import redis_client
from tests.support.processes import free_port

if TYPE_CHECKING:
    from redis.asyncio import Redis

type PassTime = Callable[[float], Awaitable[None]]


def now_ms() -> datetime:
    """The real time, to the millisecond (what MongoDB keeps)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@pytest.fixture
def clock() -> MemoryClock:
    # Starts at the real time: a real MongoDB's TTL monitor deletes documents whose
    # `expires_at` is in the real past, whatever the fake clock says.
    return MemoryClock(now_ms())


def pass_time_on(clock: MemoryClock) -> PassTime:
    async def pass_time(seconds: float) -> None:
        clock.advance(seconds)

    return pass_time


async def pass_real_time(seconds: float) -> None:
    await asyncio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class RedisService:
    managed: ManagedClient[Redis]  # what the adapters take
    raw: Redis  # the same client, for looking at keys behind the adapters' back

    async def keys(self) -> list[bytes]:
        return [key async for key in self.raw.scan_iter(count=1000)]


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def _redis_managed(redis_url: str) -> AsyncIterator[ManagedClient[Redis]]:
    managed = redis_client(redis_url, 1.0)
    try:
        yield managed
    finally:
        await managed.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def redis_service(_redis_managed: ManagedClient[Redis]) -> RedisService:
    """The session's Redis through the adapters' own client, its database flushed."""
    raw = await _redis_managed.get()
    await raw.flushdb()
    return RedisService(_redis_managed, raw)


@dataclass(frozen=True, slots=True)
class MongoService:
    managed: ManagedClient[MongoClient]
    database: str

    async def index_keys(self, collection: str) -> dict[str, dict[str, object]]:
        """The collection's indexes by name: their key fields and options."""
        client = await self.managed.get()
        info = await client[self.database][collection].index_information()
        return {name: dict(spec) for name, spec in info.items()}


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def _mongo_managed(mongodb_uri: str) -> AsyncIterator[ManagedClient[MongoClient]]:
    managed = mongo_client(mongodb_uri, 5.0)
    try:
        yield managed
    finally:
        await managed.aclose()


@pytest.fixture
def mongo_service(_mongo_managed: ManagedClient[MongoClient], mongo_db_name: str) -> MongoService:
    """The session's MongoDB through the adapters' own client, on a database of the test's
    own (dropped after it)."""
    return MongoService(_mongo_managed, mongo_db_name)


def unreachable_port() -> int:
    """A loopback port that nothing listens on."""
    return free_port()


@pytest_asyncio.fixture(loop_scope="session")
async def dead_redis() -> AsyncIterator[ManagedClient[Redis]]:
    """A client of a Redis that is not there (a closed port), with a short timeout."""
    managed = redis_client(f"redis://127.0.0.1:{unreachable_port()}/0", 0.2)
    try:
        yield managed
    finally:
        await managed.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def dead_mongo() -> AsyncIterator[ManagedClient[MongoClient]]:
    """A client of a MongoDB that is not there (a closed port), with a short timeout."""
    managed = mongo_client(f"mongodb://127.0.0.1:{unreachable_port()}/?directConnection=true", 0.2)
    try:
        yield managed
    finally:
        await managed.aclose()


@dataclass(frozen=True, slots=True)
class Backend:
    """What a contract test needs besides the adapter: how time passes for it, and the
    real service behind it (None for the memory adapters)."""

    name: str  # the param id: "memory", "redis" or "mongo"
    clock: MemoryClock
    pass_time: PassTime
    redis: RedisService | None = None
    mongo: MongoService | None = None


def make_backend(request: pytest.FixtureRequest, clock: MemoryClock) -> Backend:
    """The backend of a suite's parametrized `backend` fixture (`request.param`).

    Memory adapters and the MongoDB session repository run on the fake clock; keys in Redis
    expire on Redis's own clock, so time passes for real there (tests use 1 s TTLs).
    """
    name = str(request.param)
    if name == "memory":
        return Backend(name, clock, pass_time_on(clock))
    if name == "redis":
        service: RedisService = request.getfixturevalue("redis_service")
        return Backend(name, clock, pass_real_time, redis=service)
    if name == "mongo":
        mongo: MongoService = request.getfixturevalue("mongo_service")
        return Backend(name, clock, pass_time_on(clock), mongo=mongo)
    raise ValueError(f"unknown backend {name!r}")
