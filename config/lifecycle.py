"""Server start and stop for the clients the composition root built."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from adapters.lifecycle import ManagedClient
from ports.tasks import BackgroundTasks

log = logging.getLogger("flowhub.lifecycle")


class Lifecycle:
    """Opens the warm clients once the server serves, and closes every opened client at stop.

    Warm-up waits `warm_up_delay_s` first: the lifespan start-up runs before the server binds
    its port, and a driver import (motor: ~150 modules) on the event loop would otherwise delay
    the first answer (measured: +55-70 ms of cold start). A request that needs a client sooner
    opens it itself, and the warm-up then finds it open.
    """

    def __init__(
        self,
        *,
        warm: Sequence[ManagedClient[Any] | None],
        lazy: Sequence[ManagedClient[Any] | None],
        close_timeout_s: float,
        tasks: BackgroundTasks | None = None,
        warm_hooks: Sequence[Callable[[], Awaitable[None]]] = (),
        warm_up_delay_s: float = 1.0,
    ) -> None:
        self._warm = [c for c in warm if c is not None]
        self._all = [*self._warm, *(c for c in lazy if c is not None)]
        self._close_timeout_s = close_timeout_s
        self._warm_up_delay_s = warm_up_delay_s
        self._tasks = tasks
        self._warm_hooks = list(warm_hooks)
        self._warm_up: asyncio.Task[None] | None = None
        self.started = False

    def start(self) -> None:
        self.started = True
        if (self._warm or self._warm_hooks) and self._warm_up is None:
            self._warm_up = asyncio.create_task(self._open_warm(), name="flowhub-warm-up")

    async def _open_warm(self) -> None:
        await asyncio.sleep(self._warm_up_delay_s)
        for client in self._warm:
            try:
                await client.get()
            except Exception:
                log.warning("could not open %s client during warm-up", client.name, exc_info=True)
        for hook in self._warm_hooks:
            try:
                await hook()
            except Exception:
                log.warning("warm-up step failed; it will be retried on first use", exc_info=True)

    async def wait_warm(self) -> None:
        if self._warm_up is not None:
            await self._warm_up

    async def stop(self) -> None:
        if self._warm_up is not None and not self._warm_up.done():
            self._warm_up.cancel()
        if self._tasks is not None:  # mail still being sent, before its clients close
            await self._tasks.drain(self._close_timeout_s)
        results = await asyncio.gather(*(self._close(c) for c in self._all), return_exceptions=True)
        for client, result in zip(self._all, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("closing %s client failed: %r", client.name, result)

    async def _close(self, client: ManagedClient[Any]) -> None:
        async with asyncio.timeout(self._close_timeout_s):
            await client.aclose()
