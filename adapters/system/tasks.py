from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from functools import partial
from typing import Any

from adapters.telemetry import context as log_context
from ports.errors import ErrorContext, ErrorReporter

log = logging.getLogger("flowhub.tasks")


class AsyncioBackgroundTasks:
    """Background work on the running loop, referenced until done (so it is never collected
    mid-flight), failures logged and reported (with the request that spawned it), and drained
    at shutdown."""

    def __init__(self, reporter: ErrorReporter | None = None) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._reporter = reporter

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(partial(self._finished, dict(log_context.current())))

    def _finished(self, spawned_in: Mapping[str, str], task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or (error := task.exception()) is None:
            return
        log.error("background task %s failed", task.get_name(), exc_info=error)
        if self._reporter is not None:
            self._reporter.report(
                error,
                ErrorContext(
                    "task",
                    route=task.get_name(),
                    request_id=spawned_in.get("request_id"),
                    user_id=spawned_in.get("user_id"),
                ),
            )

    async def drain(self, timeout_s: float) -> None:
        pending = set(self._tasks)
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=timeout_s)
        for task in late:
            task.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)
