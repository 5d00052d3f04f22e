"""Non-error logs (DEBUG when LOG_LEVEL=DEBUG, INFO, WARNING) to Logtail (Better Stack) through
logtail-python; ERROR and above never go there (errors go to Rollbar and stdout).

Nothing here may slow a request or the shutdown, whatever the endpoint does:
- the handler on the root logger turns the record into a frame and appends it to a bounded
  buffer (`buffer_capacity` records); a full buffer drops the record and counts it;
- one daemon thread uploads the buffer in batches (once a second, or when it is half full)
  through the SDK's uploader with a (connect, read) timeout, once: a failed batch is dropped and
  counted (the SDK would retry it after 1, 10 and 60 s);
- the SDK (requests, msgpack: ~150 ms of imports) loads after the server serves, off the event
  loop; records logged before that wait in a bounded buffer;
- the final flush at shutdown is bounded (`close(timeout_s)`), and the process never waits for
  the uploading thread at exit.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from adapters.telemetry.context import ContextFilter

log = logging.getLogger("flowhub.telemetry.logtail")  # never shipped: see _ShippingHandler

DEFAULT_HOST = "in.logs.betterstack.com"


@dataclass(slots=True)
class ShipperStats:
    sent: int = 0  # records Logtail accepted (2xx)
    sent_bytes: int = 0  # request bodies of those uploads (msgpack)
    batches: int = 0
    failed: int = 0  # records of batches that failed (refused, timed out, non-2xx)
    dropped_full: int = 0  # the buffer was full (the endpoint slower than the logs)
    dropped_early: int = 0  # the buffer before the SDK loaded was full

    @property
    def dropped(self) -> int:
        return self.failed + self.dropped_full + self.dropped_early


class LogtailShipper:
    def __init__(
        self,
        source_token: str,
        *,
        host: str | None = None,
        level: int | str = logging.INFO,
        buffer_capacity: int = 2000,
        flush_interval_s: float = 1.0,
        send_timeout_s: tuple[float, float] = (1.0, 2.0),
        early_capacity: int = 500,
    ) -> None:
        self._token = source_token
        self._host = host or DEFAULT_HOST
        self._buffer_capacity = buffer_capacity
        self._flush_interval_s = flush_interval_s
        self._send_timeout_s = send_timeout_s
        self.stats = ShipperStats()
        self.handler = _ShippingHandler(self.stats, level, early_capacity)
        self._sdk: Any = None
        self._opening: asyncio.Task[None] | None = None
        self._last_warning = 0.0
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return self._host

    @property
    def opened(self) -> bool:
        return self._sdk is not None

    def attach(self, logger: logging.Logger | None = None) -> None:
        """Ship what `logger` (the root logger) logs from now on."""
        target = logger or logging.getLogger()
        if self.handler not in target.handlers:
            target.addHandler(self.handler)

    def detach(self, logger: logging.Logger | None = None) -> None:
        (logger or logging.getLogger()).removeHandler(self.handler)

    async def open(self) -> None:
        """Load the SDK off the event loop and start shipping (idempotent)."""
        if self._sdk is not None:
            return
        if self._opening is None:
            self._opening = asyncio.create_task(self._open(), name="open-logtail")
        await asyncio.shield(self._opening)

    async def _open(self) -> None:
        module = await asyncio.to_thread(importlib.import_module, "adapters.logtail.handler")
        sdk = module.BoundedLogtailHandler(
            self._token,
            self._host,
            buffer_capacity=self._buffer_capacity,
            flush_interval=self._flush_interval_s,
            send_timeout=self._send_timeout_s,
            on_sent=self._sent,
            on_failed=self._failed,
        )
        sdk.ensure_flush_thread_alive()
        self._sdk = sdk
        self.handler.set_target(sdk)

    async def close(self, timeout_s: float) -> bool:
        """Stop shipping; upload what is queued, at most `timeout_s`. True if all of it went."""
        self.detach()
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()
        sdk = self._sdk
        if sdk is None:
            return True
        try:
            drained = bool(
                await asyncio.wait_for(asyncio.to_thread(sdk.drain, timeout_s), timeout_s + 0.5)
            )
        except TimeoutError:
            drained = False
        self.stats.dropped_full = int(sdk.dropcount)
        sdk.close()
        return drained

    # called on the SDK's worker thread ---------------------------------------------------

    def _sent(self, records: int, size: int) -> None:
        with self._lock:
            self.stats.sent += records
            self.stats.sent_bytes += size
            self.stats.batches += 1

    def _failed(self, records: int, reason: str) -> None:
        with self._lock:
            self.stats.failed += records
        if self._sdk is not None:
            self.stats.dropped_full = int(self._sdk.dropcount)
        now = time.monotonic()
        if now - self._last_warning >= 60.0:  # one line a minute at most
            self._last_warning = now
            log.warning(
                "logtail upload failed (%s): %d records dropped so far",
                reason,
                self.stats.dropped,
            )


class _ShippingHandler(logging.Handler):
    """On the root logger: records below ERROR, except the shipper's own, go to the SDK's
    handler, or into a bounded buffer until it exists."""

    def __init__(self, stats: ShipperStats, level: int | str, early_capacity: int) -> None:
        super().__init__(level)
        self._stats = stats
        self._early: deque[logging.LogRecord] = deque()
        self._early_capacity = early_capacity
        self._target: logging.Handler | None = None
        self.addFilter(ContextFilter())

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR or record.name.startswith(log.name):
            return False
        return bool(super().filter(record))

    def set_target(self, target: logging.Handler) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._target = target
            early, self._early = list(self._early), deque()
        for record in early:
            target.handle(record)

    def emit(self, record: logging.LogRecord) -> None:
        target = self._target
        if target is not None:
            target.handle(record)
        elif len(self._early) < self._early_capacity:
            self._early.append(record)
        else:
            self._stats.dropped_early += 1
