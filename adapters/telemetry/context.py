"""Fields every log line carries while a request (or a Socket.IO event) is served: the request
id and, once known, the user id. Kept in a context variable, so a task spawned while serving
carries them too."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextvars import ContextVar, Token

type LogContextToken = Token[dict[str, str] | None]

_CONTEXT: ContextVar[dict[str, str] | None] = ContextVar("flowhub_log_context", default=None)
_EMPTY: Mapping[str, str] = {}


def bind(**fields: str) -> LogContextToken:
    """Start a new context (a request, an event) with `fields`; `unbind` ends it."""
    return _CONTEXT.set(dict(fields))


def unbind(token: LogContextToken) -> None:
    try:
        _CONTEXT.reset(token)
    except ValueError:  # reset from another context: leave the other context alone
        _CONTEXT.set(None)


def annotate(**fields: str) -> None:
    """Add fields to the current context (the user id once the token is verified)."""
    current = _CONTEXT.get()
    if current is None:
        _CONTEXT.set(dict(fields))
    else:
        current.update(fields)


def current() -> Mapping[str, str]:
    return _CONTEXT.get() or _EMPTY


class ContextFilter(logging.Filter):
    """Copies the context's fields onto each record (without overwriting the record's own), so
    every handler, the Logtail one included, sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _CONTEXT.get()
        if fields:
            for key, value in fields.items():
                if key not in record.__dict__:
                    record.__dict__[key] = value
        return True
