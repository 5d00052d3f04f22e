"""Server start and stop for the clients the composition root built."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, is_dataclass
from typing import Any, Protocol

from adapters.lifecycle import ManagedClient
from ports.errors import ErrorContext, ErrorReporter
from ports.tasks import BackgroundTasks

log = logging.getLogger("flowhub.lifecycle")

FINAL_FLUSH_S = 2.0  # the most the telemetry sinks may add to a shutdown


class LogShipper(Protocol):
    """Where non-error logs go beyond stdout (adapters/logtail/shipper.py)."""

    def attach(self) -> None: ...

    async def open(self) -> None: ...

    async def close(self, timeout_s: float) -> bool: ...


class LogMeterFlush(Protocol):
    """The shipped bytes' flushing to the day's counter (adapters/logtail/meter.py)."""

    def start(self) -> None: ...

    async def close(self) -> None: ...


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
        errors: ErrorReporter | None = None,
        log_shipper: LogShipper | None = None,
        log_meter: LogMeterFlush | None = None,
        final_flush_s: float = FINAL_FLUSH_S,
    ) -> None:
        self._warm = [c for c in warm if c is not None]
        self._all = [*self._warm, *(c for c in lazy if c is not None)]
        self._close_timeout_s = close_timeout_s
        self._warm_up_delay_s = warm_up_delay_s
        self._tasks = tasks
        self._warm_hooks = list(warm_hooks)
        self._warm_up: asyncio.Task[None] | None = None
        self._errors = errors
        self._log_shipper = log_shipper
        self._log_meter = log_meter
        self._final_flush_s = final_flush_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous_handler: Any = None
        self.started = False

    def start(self) -> None:
        self.started = True
        if self._log_shipper is not None:
            self._log_shipper.attach()
        if self._errors is not None and self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._previous_handler = self._loop.get_exception_handler()
            self._loop.set_exception_handler(self._on_loop_exception)
        needs_warm_up = self._warm or self._warm_hooks or self._log_shipper is not None
        if needs_warm_up and self._warm_up is None:
            self._warm_up = asyncio.create_task(self._open_warm(), name="flowhub-warm-up")

    def _on_loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        # Connections reset by peers are the network's business, not bugs.
        reportable = isinstance(error, Exception) and not isinstance(error, ConnectionError)
        if self._errors is not None and reportable:
            assert isinstance(error, Exception)
            task = context.get("task") or context.get("future")
            name = task.get_name() if isinstance(task, asyncio.Task) else None
            self._errors.report(error, ErrorContext("asyncio", route=name))
        if self._previous_handler is not None:
            self._previous_handler(loop, context)
        else:
            loop.default_exception_handler(context)

    async def _open_warm(self) -> None:
        await asyncio.sleep(self._warm_up_delay_s)
        if self._log_shipper is not None:
            try:
                await self._log_shipper.open()
            except Exception:
                log.warning("could not start shipping logs to Logtail", exc_info=True)
        if self._log_meter is not None:
            self._log_meter.start()
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
        await self._flush_log_meter()
        # The clients close while the telemetry flushes: the stop takes the longer of the two.
        closing = asyncio.gather(*(self._close(c) for c in self._all), return_exceptions=True)
        results, _ = await asyncio.gather(closing, self._flush_telemetry())
        for client, result in zip(self._all, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("closing %s client failed: %r", client.name, result)

    async def _flush_log_meter(self) -> None:
        """The log bytes' last flush, while MongoDB is still open (bounded)."""
        if self._log_meter is None:
            return
        try:
            async with asyncio.timeout(self._final_flush_s):
                await self._log_meter.close()
        except Exception as error:
            log.warning("log byte meter: shutdown flush failed: %r", error)

    async def _flush_telemetry(self) -> None:
        """One bounded flush of both sinks, in parallel; what is left is given up."""
        bound = self._final_flush_s
        flushes: list[Awaitable[bool]] = []
        if self._errors is not None:
            flushes.append(self._errors.flush(bound))
        if self._log_shipper is not None:
            flushes.append(self._log_shipper.close(bound))
        try:
            async with asyncio.timeout(bound + 0.25):
                results = await asyncio.gather(*flushes, return_exceptions=True)
        except TimeoutError:
            results = [False]
        if not all(result is True for result in results):
            log.warning("telemetry: gave up delivering some logs or errors at shutdown")
        close = getattr(self._errors, "close", None)
        if callable(close):
            close()
        self._log_telemetry_totals()
        if self._loop is not None:
            self._loop.set_exception_handler(self._previous_handler)
            self._loop = None

    def _log_telemetry_totals(self) -> None:
        """What the sinks delivered and dropped in this process's life (stdout only: the
        shipper is detached by now)."""
        totals: dict[str, Any] = {}
        sources = {
            "logtail": self._log_shipper,
            "errors": self._errors,
            "error_sink": getattr(self._errors, "inner", None),
        }
        for name, source in sources.items():
            stats = getattr(source, "stats", None)
            if stats is not None and is_dataclass(stats) and not isinstance(stats, type):
                totals[name] = asdict(stats)
        if totals:
            log.info("telemetry totals at stop", extra=totals)

    async def _close(self, client: ManagedClient[Any]) -> None:
        async with asyncio.timeout(self._close_timeout_s):
            await client.aclose()
