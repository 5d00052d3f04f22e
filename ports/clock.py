from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time (UTC, timezone-aware) and a monotonic counter for durations."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...
