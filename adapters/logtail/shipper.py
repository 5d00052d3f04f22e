"""Non-error logs (DEBUG when LOG_LEVEL=DEBUG, INFO, WARNING) to Logtail (Better Stack); ERROR
and above never go there (errors go to Rollbar and stdout).

The standard library's queue logging, with every wait bounded:
- a `QueueHandler` on the root logger turns each record into a lean frame (`dt`, `level`,
  `logger`, `message` and the record's structured fields; Logtail's 3 GB a month counts bytes)
  and puts it in a bounded queue (`buffer_capacity`); a full queue drops it and counts it;
- a `QueueListener` thread (a daemon: the process never waits for it at exit) collects what is
  queued into one batch and posts it with logtail-python's uploader (msgpack, a (connect, read)
  timeout), once: a failed batch is dropped and counted. After each post it rests
  `flush_interval_s` (less when the queue is half full), so a busy server costs one wake-up
  and one POST per interval, not one per record;
- the uploader (requests, msgpack: heavy imports) loads when the lifecycle opens the shipper
  after the server serves, off the event loop; frames queued before that wait in the queue;
- `close(timeout_s)` is the bounded final flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from logging.handlers import QueueHandler, QueueListener
from typing import Any

from adapters.telemetry.context import ContextFilter
from adapters.telemetry.json_logs import structured_fields, timestamp
from adapters.telemetry.scrub import redact

log = logging.getLogger("flowhub.telemetry.logtail")  # never shipped (see _Enqueue.filter)

DEFAULT_HOST = "in.logs.betterstack.com"

type Frame = dict[str, Any]
type Upload = Callable[[list[Frame]], Any]


@dataclass(slots=True)
class ShipperStats:
    sent: int = 0  # records Logtail accepted (2xx)
    sent_bytes: int = 0  # request bodies of those uploads (msgpack)
    batches: int = 0
    failed: int = 0  # records of batches that failed (refused, timed out, non-2xx)
    dropped_full: int = 0  # the queue was full (the endpoint slower than the logs)

    @property
    def dropped(self) -> int:
        return self.failed + self.dropped_full


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
        batch_size: int = 1000,
    ) -> None:
        self._token = source_token
        self._host = host or DEFAULT_HOST
        self._send_timeout_s = send_timeout_s
        self.stats = ShipperStats()
        # called on the listener's thread after each accepted upload (the log byte meter's)
        self.on_sent: Callable[[], None] | None = None
        self._queue: queue.Queue[Frame | None] = queue.Queue(buffer_capacity)
        self._listener = _BatchingListener(self, self._queue, flush_interval_s, batch_size)
        self.handler = _Enqueue(self._queue, self._listener, self.stats, level)
        self._opening: asyncio.Task[None] | None = None
        self._last_warning = 0.0
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return self._host

    @property
    def opened(self) -> bool:
        return self._listener.upload is not None

    def attach(self, logger: logging.Logger | None = None) -> None:
        """Ship what `logger` (the root logger) logs from now on."""
        target = logger or logging.getLogger()
        if self.handler not in target.handlers:
            target.addHandler(self.handler)

    def detach(self, logger: logging.Logger | None = None) -> None:
        (logger or logging.getLogger()).removeHandler(self.handler)

    async def open(self) -> None:
        """Load the uploader off the event loop and start shipping (idempotent)."""
        if self._opening is None:
            self._opening = asyncio.create_task(self._open(), name="open-logtail")
        await asyncio.shield(self._opening)

    async def _open(self) -> None:
        self._listener.upload = await asyncio.to_thread(self._uploader)
        self._listener.start()

    def _uploader(self) -> Upload:
        from logtail.uploader import Uploader

        url = (
            self._host
            if self._host.startswith(("http://", "https://"))
            else f"https://{self._host}"
        )
        upload: Upload = Uploader(self._token, url, self._send_timeout_s)
        return upload

    async def close(self, timeout_s: float) -> bool:
        """Stop shipping; post what is queued, at most `timeout_s`. True if all of it went (or
        was given up as failed)."""
        self.detach()
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()
        if not self.opened:
            return True
        self._listener.closing = True
        self._listener.wake.set()
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.01)
        drained = not self._queue.unfinished_tasks
        with contextlib.suppress(queue.Full):  # full: the daemon thread dies with the process
            self._listener.enqueue_sentinel()
        return drained

    # called on the listener's thread ----------------------------------------------------

    def post(self, upload: Upload, batch: list[Frame]) -> None:
        try:
            response = upload(batch)
            status = int(response.status_code)
        except Exception as error:  # the uploader turns network errors into a fake 500; not all
            self._failed(len(batch), type(error).__name__)
            return
        if 200 <= status < 300:
            with self._lock:
                self.stats.sent += len(batch)
                self.stats.sent_bytes += len(getattr(response.request, "body", None) or b"")
                self.stats.batches += 1
            if self.on_sent is not None:
                with contextlib.suppress(Exception):  # the thread must live
                    self.on_sent()
            return
        reason = getattr(response, "exception", None)
        self._failed(len(batch), repr(reason) if reason is not None else f"HTTP {status}")

    def _failed(self, records: int, reason: str) -> None:
        with self._lock:
            self.stats.failed += records
        now = time.monotonic()
        if now - self._last_warning >= 60.0:  # one line a minute at most
            self._last_warning = now
            log.warning(
                "logtail upload failed (%s): %d records dropped so far", reason, self.stats.dropped
            )


class _Enqueue(QueueHandler):
    """On the root logger: records below ERROR become frames in the bounded queue, except the
    shipper's own and those logged on the listener's thread (the upload's)."""

    def __init__(
        self,
        frames: queue.Queue[Frame | None],
        listener: _BatchingListener,
        stats: ShipperStats,
        level: int | str,
    ) -> None:
        super().__init__(frames)
        self.setLevel(level)
        self._frames = frames
        self._half = max(1, frames.maxsize // 2)
        self._listener = listener
        self._stats = stats
        self.addFilter(ContextFilter())

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR or record.name.startswith(log.name):
            return False
        if record.thread == self._listener.thread_id:
            return False
        return bool(super().filter(record))

    def prepare(self, record: logging.LogRecord) -> Frame:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message = redact(f"{message}: {record.exc_info[1]!r}")
        frame: Frame = {
            "dt": timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        for key, value in structured_fields(record).items():
            frame[key] = _plain(value)
        return frame

    def emit(self, record: logging.LogRecord) -> None:
        if self._frames.full():  # not even the frame is built
            self._stats.dropped_full += 1
            return
        try:
            self._frames.put_nowait(self.prepare(record))
            if self._frames.qsize() == self._half:  # half full: post now, not after the rest
                self._listener.wake.set()
        except queue.Full:
            self._stats.dropped_full += 1
        except Exception:  # a record that cannot be shipped is dropped, never raised
            self._stats.dropped_full += 1


class _BatchingListener(QueueListener):
    """Takes frames off the queue into one batch: what is queued when it wakes, at most
    `batch_size`; then one post, then a rest of `interval_s`, cut short
    when the queue is half full or the shipper closes."""

    def __init__(
        self,
        shipper: LogtailShipper,
        frames: queue.Queue[Frame | None],
        interval_s: float,
        batch_size: int,
    ) -> None:
        super().__init__(frames)
        self.upload: Upload | None = None
        self.wake = threading.Event()
        self.closing = False
        self.thread_id: int | None = None
        self._frames = frames
        self._shipper = shipper
        self._interval_s = interval_s
        self._batch_size = batch_size
        self._batch: list[Frame] = []

    def handle(self, record: Any) -> None:
        """`record` is a frame (see _Enqueue.prepare). Never raises: the thread must live."""
        self.thread_id = threading.get_ident()
        self._batch.append(record)
        if len(self._batch) < self._batch_size and self._frames.qsize():
            return
        batch, self._batch = self._batch, []
        if self.upload is not None:
            self._shipper.post(self.upload, batch)
        self.wake.wait(self._interval_s)
        self.wake.clear()
        if self.closing:  # no more rests
            self.wake.set()


def _plain(value: Any, depth: int = 0) -> Any:
    """Something msgpack can pack: primitives as they are, containers recursively, the rest
    as text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if depth < 3 and isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in value]
    if depth < 3 and isinstance(value, dict):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    return str(value)
