"""The bytes shipped to Logtail today, across instances and restarts, for the admin gauge.

The shipper counts the bytes of the uploads Logtail accepted (`stats.sent_bytes`, in the
process); this meter adds what is new since its last flush to the UTC day's counter
(`UsageDays`: one `$inc` upsert into `usage_days` on MongoDB) at most every `flush_every_s`
and at shutdown, as the Redis meter flushes (adapters/redis/meter.py): a flush starts from
an accepted upload once 10 minutes passed since the last (no timer: an idle instance, or a
suspended machine, does nothing), and a flush with nothing new writes nothing. The bytes
of a flush go to the day the flush runs: those not flushed by midnight (at most 10 minutes'
uploads) count for the next day. An instance killed without a shutdown loses at most its
last 10 minutes' count; so do the bytes of the shipper's own final upload (it closes after
this meter's last flush, which must run while MongoDB is open)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from ports.clock import Clock
from ports.gauges import UsageDays

# under the shipper's logger: never shipped, so a flush's warning is no log byte of its own
log = logging.getLogger("flowhub.telemetry.logtail.meter")

FLUSH_EVERY_S = 600


class SentBytes(Protocol):
    @property
    def sent_bytes(self) -> int: ...


def day_of(clock: Clock) -> str:
    return clock.now().strftime("%Y-%m-%d")


class LogByteMeter:
    def __init__(
        self, stats: SentBytes, days: UsageDays, clock: Clock, flush_every_s: float = FLUSH_EVERY_S
    ) -> None:
        self._stats = stats
        self._days = days
        self._clock = clock
        self._flush_every_s = flush_every_s
        self._flushed = 0  # of `stats.sent_bytes`, what is in the store (or being added)
        self._last_flush = clock.now()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flushing: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def pending(self) -> int:
        """Shipped but not yet flushed (the shipper's thread adds to `sent_bytes`)."""
        return self._stats.sent_bytes - self._flushed

    def start(self) -> None:
        """Flush from now on, on the running loop (the lifecycle's warm-up calls it)."""
        self._loop = asyncio.get_running_loop()

    def shipped(self) -> None:
        """An upload was accepted (called on the shipper's thread): a flush starts once
        `flush_every_s` passed since the last one. No timer: an idle instance does nothing."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if (self._clock.now() - self._last_flush).total_seconds() >= self._flush_every_s:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._flush_soon)

    def _flush_soon(self) -> None:
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self.flush(), name="flush-log-bytes")

    async def flush(self) -> None:
        """Add the pending bytes to today's counter; nothing when there are none. Best effort:
        a failed flush keeps its bytes for the next one (logged)."""
        async with self._lock:
            self._last_flush = self._clock.now()
            pending = self.pending
            if pending <= 0:
                return
            self._flushed += pending
            try:
                await self._days.add_log_bytes(day_of(self._clock), pending)
            except Exception as error:
                self._flushed -= pending
                log.warning("log byte meter: flush failed: %r", error)

    async def close(self) -> None:
        """The shutdown flush; no more flushes after it."""
        self._loop = None
        if self._flushing is not None:
            with contextlib.suppress(Exception):
                await self._flushing
        await self.flush()

    async def today(self) -> int:
        """Today's counter (one read) plus what this instance has not flushed yet."""
        return await self._days.log_bytes(day_of(self._clock)) + self.pending
