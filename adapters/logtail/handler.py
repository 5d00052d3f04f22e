"""logtail-python's handler with every wait bounded. Imports the SDK (and requests): loaded
only when the shipper opens, after the server serves."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from typing import Any

from logtail import LogtailHandler
from logtail.flusher import FlushWorker, in_flush_worker

from adapters.telemetry.json_logs import structured_fields
from adapters.telemetry.scrub import redact

log = logging.getLogger("flowhub.telemetry.logtail")  # never shipped (see shipper.py)


class GaveUp:
    """What the SDK's flush worker sees after a failed upload: a status it does not retry, so
    it never sleeps 1, 10 and 60 s holding the batch (logtail-python #35, #42)."""

    status_code = 0


class CountingUploader:
    """The SDK's uploader (msgpack over requests, with a timeout), tried once per batch."""

    def __init__(
        self,
        upload: Callable[[list[dict[str, Any]]], Any],
        on_sent: Callable[[int, int], None],
        on_failed: Callable[[int, str], None],
    ) -> None:
        self._upload = upload
        self._on_sent = on_sent
        self._on_failed = on_failed

    def __call__(self, frame: list[dict[str, Any]]) -> Any:
        response = self._upload(frame)
        status = int(getattr(response, "status_code", 0))
        if 200 <= status < 300:
            request = getattr(response, "request", None)
            body = getattr(request, "body", None) or b""
            self._on_sent(len(frame), len(body))
            return response
        reason = getattr(response, "exception", None)
        self._on_failed(len(frame), repr(reason) if reason is not None else f"HTTP {status}")
        return GaveUp()


class BoundedLogtailHandler(LogtailHandler):
    """- records become lean frames: `dt`, `level`, `logger`, `message` and the record's
      structured fields (`request_id`, `route`, `status`...). The SDK's frame adds the caller's
      function, file, line, thread and pid (~280 of its ~620 bytes for a request line), and
      Logtail's 3 GB a month is counted in bytes;
    - records the SDK's own upload logs (urllib3) are not shipped;
    - every upload has a (connect, read) timeout and is tried once: a failed batch is
      dropped and counted instead of retried for up to 71 s;
    - the flush worker is a daemon thread, so the interpreter never waits for it at exit;
    - once closed, `flush` returns at once (logging.shutdown calls it again at exit)."""

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
    ) -> None:
        super().__init__(
            source_token=source_token,
            host=host,
            buffer_capacity=buffer_capacity,
            flush_interval=flush_interval,
            drop_extra_events=True,  # a full queue drops (and counts), never blocks
            include_extra_attributes=True,
            raise_exceptions=False,
            timeout=send_timeout,
            flush_timeout=0.0,
        )
        # the SDK types it as its Uploader; the worker only calls it
        self.uploader = CountingUploader(self.uploader, on_sent, on_failed)  # type: ignore[assignment]
        self._closed = False
        self._warned = False

    def ensure_flush_thread_alive(self) -> None:
        if self._closed or (self.flush_thread is not None and self.flush_thread.is_alive()):
            return
        worker = FlushWorker(
            self.uploader,
            self.pipe,
            self.buffer_capacity,
            self.flush_interval,
            self.check_interval,
        )
        worker.daemon = True
        worker.name = "flowhub-logtail"
        self.flush_thread = worker
        worker.start()

    def emit(self, record: logging.LogRecord) -> None:
        if in_flush_worker():
            return
        try:
            self.ensure_flush_thread_alive()
            self.pipe.put_nowait(self.frame(record))
        except queue.Full:
            self.dropcount += 1
        except Exception:
            self.dropcount += 1  # a record that cannot be shipped is dropped, never raised
            if not self._warned:
                self._warned = True
                log.warning("a log record could not be shipped to Logtail", exc_info=True)

    @staticmethod
    def frame(record: logging.LogRecord) -> dict[str, Any]:
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message = redact(f"{message}: {record.exc_info[1]!r}")
        frame: dict[str, Any] = {
            "dt": f"{seconds}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        for key, value in structured_fields(record).items():
            frame[key] = _plain(value)
        return frame

    def drain(self, timeout_s: float) -> bool:
        """Wait until what is queued is uploaded (or given up), at most `timeout_s`."""
        worker = self.flush_thread
        if worker is None or not worker.is_alive():
            return self.pipe.empty()
        return bool(worker.flush(timeout=timeout_s))

    def flush(self) -> None:
        return None  # bounded `drain` is the only wait; logging.shutdown must not block

    def close(self) -> None:
        self._closed = True
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
