"""logtail-python's handler with every wait bounded and no thread wake-up per record. Imports
the SDK (and requests): loaded only when the shipper opens, after the server serves."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from logtail import LogtailHandler

from adapters.telemetry.json_logs import structured_fields, timestamp
from adapters.telemetry.scrub import redact

log = logging.getLogger("flowhub.telemetry.logtail")  # never shipped (see shipper.py)


class CountingUploader:
    """The SDK's uploader (msgpack over requests, with a timeout), tried once per batch: a
    failed batch is dropped and counted (the SDK's worker would retry it after 1, 10 and 60 s,
    logtail-python #35, #42)."""

    def __init__(
        self,
        upload: Callable[[list[dict[str, Any]]], Any],
        on_sent: Callable[[int, int], None],
        on_failed: Callable[[int, str], None],
    ) -> None:
        self._upload = upload
        self._on_sent = on_sent
        self._on_failed = on_failed

    def __call__(self, frames: list[dict[str, Any]]) -> None:
        try:
            response = self._upload(frames)
        except Exception as error:  # the SDK turns network errors into a fake 500; not all
            self._on_failed(len(frames), repr(error))
            return
        status = int(getattr(response, "status_code", 0))
        if 200 <= status < 300:
            request = getattr(response, "request", None)
            body = getattr(request, "body", None) or b""
            self._on_sent(len(frames), len(body))
            return
        reason = getattr(response, "exception", None)
        self._on_failed(len(frames), repr(reason) if reason is not None else f"HTTP {status}")


class BoundedLogtailHandler(LogtailHandler):
    """LogtailHandler with its transport (the SDK's Uploader) and our own buffering:

    - records become lean frames: `dt`, `level`, `logger`, `message` and the record's
      structured fields (`request_id`, `route`, `status`...). The SDK's frame adds the caller's
      function, file, line, thread and pid (~280 of its ~620 bytes for a request line), and
      Logtail's 3 GB a month is counted in bytes;
    - `emit` appends the frame to a bounded buffer (`buffer_capacity`; full: dropped and
      counted) and returns. The SDK's FlushWorker takes its queue one record at a time with a
      timed `get`, so every record woke a thread and moved the GIL: measured +100 µs of CPU per
      request on the 2-core machine (bench/observability.py). Ours sleeps until
      `flush_interval` passes or the buffer is half full, then uploads it in batches;
    - records the upload itself logs (urllib3) are not shipped;
    - every upload is tried once with a (connect, read) timeout;
    - the worker is a daemon thread, so the interpreter never waits for it at exit; `drain` is
      the bounded final wait, and `flush` (which logging.shutdown calls at exit) never waits.
    """

    def __init__(
        self,
        source_token: str,
        host: str,
        *,
        buffer_capacity: int,
        flush_interval: float,
        send_timeout: tuple[float, float],
        on_sent: Callable[[int, int], None],
        on_failed: Callable[[int, str], None],
        batch_size: int = 1000,
    ) -> None:
        super().__init__(
            source_token=source_token,
            host=host,
            buffer_capacity=buffer_capacity,
            flush_interval=flush_interval,
            drop_extra_events=True,
            include_extra_attributes=True,
            raise_exceptions=False,
            timeout=send_timeout,
            flush_timeout=0.0,
        )
        self._send = CountingUploader(self.uploader, on_sent, on_failed)
        self._batch_size = batch_size
        self._frames: deque[dict[str, Any]] = deque()
        self._frames_lock = threading.Lock()
        self._wake = threading.Event()
        self._uploading = False
        self._worker: threading.Thread | None = None
        self._closed = False
        self._warned = False

    def ensure_flush_thread_alive(self) -> None:
        if self._closed or (self._worker is not None and self._worker.is_alive()):
            return
        self._worker = threading.Thread(target=self._run, name="flowhub-logtail", daemon=True)
        self._worker.start()

    def emit(self, record: logging.LogRecord) -> None:
        if threading.current_thread() is self._worker:
            return
        try:
            if len(self._frames) >= self.buffer_capacity:  # full: not even the frame is built
                self.dropcount += 1
                return
            frame = self.frame(record)
            with self._frames_lock:
                if len(self._frames) >= self.buffer_capacity:
                    self.dropcount += 1
                    return
                self._frames.append(frame)
                wake = len(self._frames) == self.buffer_capacity // 2
            if wake:
                self._wake.set()
            if self._worker is None:
                self.ensure_flush_thread_alive()
        except Exception:
            self.dropcount += 1  # a record that cannot be shipped is dropped, never raised
            if not self._warned:
                self._warned = True
                log.warning("a log record could not be shipped to Logtail", exc_info=True)

    @staticmethod
    def frame(record: logging.LogRecord) -> dict[str, Any]:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message = redact(f"{message}: {record.exc_info[1]!r}")
        frame: dict[str, Any] = {
            "dt": timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        for key, value in structured_fields(record).items():
            frame[key] = _plain(value)
        return frame

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            try:
                self._upload_due()
            except Exception:  # never let the worker die
                log.warning("logtail worker failed", exc_info=True)

    def _upload_due(self) -> None:
        """Upload what was buffered when the worker woke, in batches; what arrives meanwhile
        waits for the next wake-up (uploading until empty would mean a small batch after each
        upload, all the time, under load)."""
        with self._frames_lock:
            due = len(self._frames)
        while due > 0:
            with self._frames_lock:
                count = min(due, self._batch_size, len(self._frames))
                batch = [self._frames.popleft() for _ in range(count)]
                self._uploading = True
            try:
                self._send(batch)
            finally:
                with self._frames_lock:
                    self._uploading = False
            due -= count if count else due

    @property
    def pending(self) -> int:
        with self._frames_lock:
            return len(self._frames) + (1 if self._uploading else 0)

    def drain(self, timeout_s: float) -> bool:
        """Upload what is buffered now; wait at most `timeout_s`. True if it all went out (or
        was given up as failed); False if time ran out first."""
        deadline = time.monotonic() + timeout_s
        self.ensure_flush_thread_alive()
        while self.pending:
            if time.monotonic() >= deadline:
                return False
            self._wake.set()
            time.sleep(0.01)
        return True

    def flush(self) -> None:
        return None  # `drain` is the only (bounded) wait; logging.shutdown must never block

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        super().close()


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
