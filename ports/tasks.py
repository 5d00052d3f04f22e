from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, Protocol


class BackgroundTasks(Protocol):
    """Work that must not hold up the answer (sending mail), tracked until it finishes."""

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run `work` soon; its failure is logged and reported, never raised to the caller."""
        ...

    async def drain(self, timeout_s: float) -> None:
        """Wait for the work spawned so far, at most `timeout_s` (then cancel the rest)."""
        ...
