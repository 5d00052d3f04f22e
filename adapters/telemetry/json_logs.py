"""Log records as JSON lines on stdout: what Fly.io and Render collect.

One object per line: `ts` (UTC, ms), `level`, `logger`, `msg`, then the record's structured
fields (`extra=...` and the request context: `request_id`, `user_id`), then `exc_type` and a
scrubbed `exc` traceback for exceptions.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import IO, Any

from adapters.telemetry.context import ContextFilter
from adapters.telemetry.scrub import REDACTED, is_sensitive_key, redact

# Attributes every LogRecord has; anything else on a record is a structured field.
STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}

_NOT_FIELDS = STANDARD_ATTRIBUTES | {"color_message"}  # uvicorn's ANSI copy of the message

# Chatty libraries whose DEBUG/INFO lines are noise (the Logtail and Rollbar uploads included).
QUIET_LOGGERS = ("urllib3", "requests", "botocore", "aiobotocore", "s3transfer", "asyncio")


def structured_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's fields beyond the standard ones, sensitive keys redacted. Computed once
    per record: the stdout and the Logtail handlers both need them."""
    cached: dict[str, Any] | None = record.__dict__.get("_fields")
    if cached is None:
        cached = {
            key: REDACTED if is_sensitive_key(key) else value
            for key, value in record.__dict__.items()
            if key not in _NOT_FIELDS and key[0] != "_"
        }
        record.__dict__["_fields"] = cached
    return cached


def timestamp(record: logging.LogRecord) -> str:
    """`2026-11-26T07:12:24.123Z`, once per record."""
    cached: str | None = record.__dict__.get("_ts")
    if cached is None:
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        cached = record.__dict__["_ts"] = f"{seconds}.{int(record.msecs):03d}Z"
    return cached


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, Any] = {
            "ts": timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": message,
        }
        entry.update(structured_fields(record))
        if record.exc_info and record.exc_info[1] is not None:
            entry["msg"] = redact(message)
            entry["exc_type"] = type(record.exc_info[1]).__name__
            entry["exc"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, default=str, ensure_ascii=False, separators=(",", ":"))


def install_json_logging(level: str | int, stream: IO[str] | None = None) -> logging.Handler:
    """Replace the root logger's handlers with one JSON-lines handler on `stream` (stdout)."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
