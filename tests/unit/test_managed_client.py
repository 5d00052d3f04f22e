from __future__ import annotations

import asyncio

import pytest

from adapters.lifecycle import ManagedClient
from config.lifecycle import Lifecycle

pytestmark = pytest.mark.unit


class Recorder:
    def __init__(self, open_delay: float = 0.0, failures: int = 0) -> None:
        self.opened = 0
        self.closed: list[str] = []
        self.open_delay = open_delay
        self.failures = failures

    async def open(self) -> str:
        await asyncio.sleep(self.open_delay)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("driver says no")
        self.opened += 1
        return f"client-{self.opened}"

    async def close(self, client: str) -> None:
        self.closed.append(client)


async def test_concurrent_first_uses_open_the_client_once() -> None:
    rec = Recorder(open_delay=0.01)
    managed = ManagedClient("db", rec.open, rec.close)
    clients = await asyncio.gather(*(managed.get() for _ in range(10)))
    assert set(clients) == {"client-1"}
    assert rec.opened == 1
    assert managed.is_open


async def test_a_caller_that_gives_up_does_not_cancel_the_open() -> None:
    rec = Recorder(open_delay=0.05)
    managed = ManagedClient("db", rec.open, rec.close)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await managed.get()
    assert await managed.get() == "client-1"
    assert rec.opened == 1


async def test_a_failed_open_is_retried_by_the_next_caller() -> None:
    rec = Recorder(failures=1)
    managed = ManagedClient("db", rec.open, rec.close)
    with pytest.raises(ConnectionError):
        await managed.get()
    assert not managed.is_open
    assert await managed.get() == "client-1"


async def test_close_closes_an_opened_client_once_and_allows_reopening() -> None:
    rec = Recorder()
    managed = ManagedClient("db", rec.open, rec.close)
    await managed.aclose()
    assert rec.closed == []
    await managed.get()
    await managed.aclose()
    await managed.aclose()
    assert rec.closed == ["client-1"]
    assert await managed.get() == "client-2"


async def test_lifecycle_warms_the_warm_clients_only_and_closes_all_opened() -> None:
    warm_rec, lazy_rec = Recorder(), Recorder()
    warm = ManagedClient("warm", warm_rec.open, warm_rec.close)
    lazy = ManagedClient("lazy", lazy_rec.open, lazy_rec.close)
    lifecycle = Lifecycle(warm=[warm, None], lazy=[lazy], close_timeout_s=1, warm_up_delay_s=0)
    lifecycle.start()
    await lifecycle.wait_warm()
    assert warm.is_open and not lazy.is_open
    await lazy.get()
    await lifecycle.stop()
    assert warm_rec.closed == ["client-1"] and lazy_rec.closed == ["client-1"]


async def test_lifecycle_survives_a_warm_up_failure_and_a_hanging_close() -> None:
    rec = Recorder(failures=1)
    failing = ManagedClient("db", rec.open, rec.close)

    async def hang(_: str) -> None:
        await asyncio.sleep(60)

    hanging_rec = Recorder()
    hanging = ManagedClient("cache", hanging_rec.open, hang)
    lifecycle = Lifecycle(warm=[failing, hanging], lazy=[], close_timeout_s=0.05, warm_up_delay_s=0)
    lifecycle.start()
    await lifecycle.wait_warm()
    assert not failing.is_open and hanging.is_open
    async with asyncio.timeout(1):
        await lifecycle.stop()
