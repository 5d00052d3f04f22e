from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

type ErrorSource = Literal["http", "socketio", "task", "asyncio"]


@dataclass(frozen=True, slots=True)
class ErrorContext:
    """Where an unexpected exception happened. Ids only: no header, body, email or token.

    `route` is the URL rule (`/api/v1/files/<id>`), the Socket.IO event or the task's name.
    `fingerprint` and `occurrences` are filled in by the quota guard in front of a reporter:
    how this error is grouped, and how many occurrences this one report stands for.
    """

    source: ErrorSource
    route: str | None = None
    request_id: str | None = None
    user_id: str | None = None
    method: str | None = None
    fingerprint: str | None = None
    occurrences: int = 1


class ErrorReporter(Protocol):
    """Unexpected exceptions to an error tracker, never in the way of the caller.

    `report` is synchronous on purpose: it is called from error handlers and from task
    callbacks, takes microseconds, never raises and never waits for the network (delivery
    happens on the reporter's own thread, or not at all when it cannot keep up).
    """

    def report(self, error: BaseException, context: ErrorContext) -> None: ...

    async def flush(self, timeout_s: float) -> bool:
        """Wait until what was reported so far is delivered, at most `timeout_s`. True if it
        was; False when time ran out (what is left is given up)."""
        ...
