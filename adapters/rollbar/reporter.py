"""Errors to Rollbar through pyrollbar, on one thread of our own, never in the caller's way.

pyrollbar's default handler starts a thread per item (a burst piles up threads) and drops 429s
silently; its blocking handler holds the caller up to its timeout. So this adapter:

- puts each report in a bounded queue (`queue_size`) and returns: a full queue drops the
  report and counts it, it never waits;
- runs one daemon thread that imports rollbar (~0.3-0.5 s, so never on a cold start: only when
  the first error arrives) and sends item after item with the SDK's blocking handler and a
  short timeout: a hanging endpoint costs that thread `timeout_s` per item, nobody else;
- counts what was sent, what failed and what Rollbar refused with 429 (its answer when the
  monthly quota is spent), from the SDK's own log records, which it keeps off the log;
- is a daemon thread, so the process never waits for it at exit; `flush` is the bounded wait.

pyrollbar keeps its settings in one module-global dict (`rollbar.SETTINGS`, which its docs say
may be set directly); each send applies this reporter's token and endpoint under a lock, so
several reporters in one process (tests) do not mix up their settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.telemetry.scrub import SENSITIVE_KEYS
from ports.errors import ErrorContext

log = logging.getLogger("flowhub.telemetry")

DEFAULT_ENDPOINT = "https://api.rollbar.com/api/1/"
ROOT = str(Path(__file__).resolve().parents[2])
CODE_VERSION_MAX = 40  # Rollbar's limit

# `code` is also the key of each frame's source line, which is worth keeping; free-text codes
# are caught by the redacting transform.
SCRUB_FIELDS = sorted(SENSITIVE_KEYS - {"code", "to"})

_SDK_LOCK = threading.Lock()
_current = threading.local()  # the outcome of the send in progress on this thread


@dataclass(slots=True)
class RollbarStats:
    queued: int = 0
    sent: int = 0
    failed: int = 0  # connection refused, timed out, 5xx, unexpected answers
    rate_limited: int = 0  # 429: over Rollbar's rate limit or monthly quota
    dropped: int = 0  # the queue was full


@dataclass(slots=True)
class _Outcome:
    failed: str | None = None
    rate_limited: bool = False


@dataclass(frozen=True, slots=True)
class _Item:
    error: BaseException
    context: ErrorContext


class RollbarErrorReporter:
    def __init__(
        self,
        access_token: str,
        *,
        environment: str,
        code_version: str,
        endpoint: str | None = None,
        timeout_s: int = 2,
        queue_size: int = 32,
    ) -> None:
        self._token = access_token
        self._environment = environment
        self._code_version = code_version[-CODE_VERSION_MAX:]
        self._endpoint = endpoint or DEFAULT_ENDPOINT
        self._timeout_s = timeout_s
        self._queue: queue.Queue[_Item | None] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self._last_warning = 0.0
        self.stats = RollbarStats()

    @property
    def endpoint(self) -> str:
        return self._endpoint

    def start(self) -> None:
        """Start the sending thread (it imports the SDK). Idempotent; `report` calls it."""
        with self._start_lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name="flowhub-rollbar", daemon=True
                )
                self._thread.start()

    def report(self, error: BaseException, context: ErrorContext) -> None:
        if self._closed:
            self.stats.dropped += 1
            return
        try:
            self._queue.put_nowait(_Item(error, context))
        except queue.Full:
            self.stats.dropped += 1
            return
        self.stats.queued += 1
        if self._thread is None:
            self.start()

    async def flush(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def close(self) -> None:
        """Stop taking reports; the thread ends after the item in hand (or with the process)."""
        self._closed = True
        with contextlib.suppress(queue.Full):  # full: the daemon thread dies with the process
            self._queue.put_nowait(None)

    # the sending thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            rollbar = _load_sdk(self._timeout_s)
        except Exception:
            log.warning("rollbar could not be loaded; errors go to stdout only", exc_info=True)
            rollbar = None
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if rollbar is None:
                    self.stats.failed += 1
                else:
                    self._send(rollbar, item)
            finally:
                self._queue.task_done()

    def _send(self, rollbar: Any, item: _Item) -> None:
        error, context = item.error, item.context
        outcome = _Outcome()
        with _SDK_LOCK:
            rollbar.SETTINGS.update(
                access_token=self._token,
                environment=self._environment,
                endpoint=self._endpoint,
                code_version=self._code_version,
                timeout=self._timeout_s,
            )
            _current.outcome = outcome
            try:
                rollbar.report_exc_info(
                    (type(error), error, error.__traceback__),
                    extra_data=_custom(context),
                    payload_data=_payload_data(context),
                )
            except Exception as failure:  # report_exc_info catches its own; belt and braces
                outcome.failed = repr(failure)
            finally:
                _current.outcome = None
        if outcome.rate_limited:
            self.stats.rate_limited += 1
            self._warn("rollbar refused an item (429: rate limit or monthly quota spent)")
        elif outcome.failed is not None:
            self.stats.failed += 1
            self._warn(f"rollbar delivery failed: {outcome.failed}")
        else:
            self.stats.sent += 1

    def _warn(self, message: str) -> None:
        """At most one line a minute about Rollbar's own trouble."""
        now = time.monotonic()
        if now - self._last_warning >= 60.0:
            self._last_warning = now
            log.warning(
                "%s (sent %d, failed %d, refused %d, dropped %d)",
                message,
                self.stats.sent,
                self.stats.failed,
                self.stats.rate_limited,
                self.stats.dropped,
            )


def _custom(context: ErrorContext) -> dict[str, object]:
    custom: dict[str, object] = {"source": context.source, "occurrences": context.occurrences}
    for key in ("request_id", "route", "method", "user_id"):
        value = getattr(context, key)
        if value is not None:
            custom[key] = value
    return custom


def _payload_data(context: ErrorContext) -> dict[str, object]:
    data: dict[str, object] = {
        "context": f"{context.source} {context.route or '?'}",
        "request": {"method": context.method, "url": context.route}
        if context.source == "http"
        else {},
    }
    if context.fingerprint:
        data["fingerprint"] = context.fingerprint
    if context.user_id:
        data["person"] = {"id": context.user_id}
    return data


class _OutcomeFilter(logging.Filter):
    """Reads the SDK's log records made during one of our sends: they are the only account of
    how the send went (`report_exc_info` returns the item's uuid either way). Those records are
    kept off the log (they would carry tracebacks or the payload); `_send` logs one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        outcome: _Outcome | None = getattr(_current, "outcome", None)
        if outcome is None:
            return True
        if record.levelno >= logging.WARNING:
            text = record.getMessage()
            if "over rate limit" in text:
                outcome.rate_limited = True
            elif not text.startswith("Payload was"):
                error = record.exc_info[1] if record.exc_info else None
                outcome.failed = type(error).__name__ if error is not None else text[:200]
        return False


_loaded: list[Any] = []  # the initialised rollbar module, once loaded


def _load_sdk(timeout_s: int) -> Any:
    """Import and initialise pyrollbar once per process."""
    with _SDK_LOCK:
        if _loaded:
            return _loaded[0]
        import rollbar

        from adapters.rollbar.transform import RedactingTransform

        logging.getLogger("rollbar").addFilter(_OutcomeFilter())
        rollbar.init(
            "unset",  # each send sets its reporter's token
            environment="production",
            handler="blocking",  # on our thread: never a thread per item
            timeout=timeout_s,
            scrub_fields=SCRUB_FIELDS,
            custom_transforms=[RedactingTransform()],
            locals={"enabled": False},  # locals hold emails, codes, tokens
            capture_ip=False,
            capture_email=False,
            capture_username=False,
            include_request_body=False,
            log_payload_on_error=False,
            allow_logging_basic_config=False,
            suppress_reinit_warning=True,
            root=ROOT,
        )
        _loaded.append(rollbar)
        return rollbar
