"""Errors to Rollbar, on one thread of our own, never in the caller's way.

pyrollbar builds each item (trace, scrubbing, our redacting transform); its payload hook
(`rollbar.events.add_payload_handler`) hands the finished payload to us instead of to its
handlers, and we post it with pyrollbar's transport and one timeout, reading the answer:

- `report` puts the error in a bounded queue (`queue_size`) and returns: a full queue drops the
  report and counts it, it never waits;
- one daemon thread imports rollbar (only when the first error arrives: it is heavy), builds and
  posts item after item: a hanging endpoint costs that thread `timeout_s` per item, nobody
  else, and the process never waits for it at exit; `flush` is the bounded wait;
- each answer is counted: sent (2xx), rate limited (429: the monthly quota is spent) or failed.

pyrollbar's own handlers would start a thread per item, hide 429s and the failures in log
records, and read the token and endpoint from its one global SETTINGS; here each reporter
passes its own environment and code version as payload data and posts with its own token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
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


@dataclass(slots=True)
class RollbarStats:
    queued: int = 0
    sent: int = 0
    failed: int = 0  # connection refused, timed out, 5xx, unexpected answers
    rate_limited: int = 0  # 429: over Rollbar's rate limit or monthly quota
    dropped: int = 0  # the queue was full


type _Item = tuple[BaseException, ErrorContext]


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
            self._queue.put_nowait((error, context))
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
            rollbar = _load_sdk()
        except Exception:
            log.warning("rollbar could not be loaded; errors go to stdout only", exc_info=True)
            rollbar = None
        while (item := self._queue.get()) is not None:
            try:
                failure = "the SDK did not load" if rollbar is None else self._send(rollbar, *item)
            except Exception as error:  # refused, timed out; never let the thread die
                failure = type(error).__name__
            self._count(failure)
            self._queue.task_done()
        self._queue.task_done()

    def _send(self, rollbar: Any, error: BaseException, context: ErrorContext) -> str | None:
        """Build the item with pyrollbar and post it; the failure, or None once it is sent."""
        _built.payload = None
        rollbar.report_exc_info(
            (type(error), error, error.__traceback__),
            extra_data=_custom(context),
            payload_data=self._payload_data(context),
        )
        payload: dict[str, Any] | None = _built.payload
        if payload is None:
            return "pyrollbar built no item"
        payload["access_token"] = self._token
        response = rollbar.lib.transport.post(
            f"{self._endpoint.rstrip('/')}/item/",
            data=json.dumps(payload, default=rollbar.lib.defaultJSONEncode),
            headers={"Content-Type": "application/json", "X-Rollbar-Access-Token": self._token},
            timeout=self._timeout_s,
        )
        status = int(response.status_code)
        if status == 429:
            return "429"
        return None if 200 <= status < 300 else f"HTTP {status}"

    def _count(self, failure: str | None) -> None:
        if failure is None:
            self.stats.sent += 1
        elif failure == "429":
            self.stats.rate_limited += 1
            self._warn("rollbar refused an item (429: rate limit or monthly quota spent)")
        else:
            self.stats.failed += 1
            self._warn(f"rollbar delivery failed: {failure}")

    def _warn(self, message: str) -> None:
        """At most one line a minute about Rollbar's own trouble."""
        now = time.monotonic()
        if now - self._last_warning >= 60.0:
            self._last_warning = now
            s = self.stats
            log.warning(
                "%s (sent %d, failed %d, refused %d, dropped %d)",
                message,
                *(s.sent, s.failed, s.rate_limited, s.dropped),
            )

    def _payload_data(self, context: ErrorContext) -> dict[str, object]:
        data: dict[str, object] = {
            "environment": self._environment,
            "code_version": self._code_version,
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


def _custom(context: ErrorContext) -> dict[str, object]:
    custom: dict[str, object] = {"source": context.source, "occurrences": context.occurrences}
    for key in ("request_id", "route", "method", "user_id"):
        value = getattr(context, key)
        if value is not None:
            custom[key] = value
    return custom


_built = threading.local()  # the payload pyrollbar built last on this thread
_sdk_lock = threading.Lock()
_loaded: list[Any] = []  # the initialised rollbar module, once loaded


def _keep_payload(payload: dict[str, Any], **_: object) -> bool:
    """pyrollbar's payload hook: keep the finished item for `_send`; False stops pyrollbar
    from sending it itself."""
    _built.payload = payload
    return False


def _load_sdk() -> Any:
    """Import and initialise pyrollbar once per process."""
    with _sdk_lock:
        if _loaded:
            return _loaded[0]
        import rollbar
        import rollbar.lib.transport

        from adapters.rollbar.transform import RedactingTransform

        rollbar.init(
            "unset",  # each reporter posts with its own token
            handler="blocking",  # never used: the payload hook stops every send
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
        rollbar.events.add_payload_handler(_keep_payload)
        _loaded.append(rollbar)
        return rollbar
