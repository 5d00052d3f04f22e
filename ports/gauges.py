"""What the free-tier gauges read (the admin API): each a figure an adapter knows."""

from __future__ import annotations

from typing import Protocol


class DatabaseUsage(Protocol):
    async def bytes_used(self) -> int:
        """The bytes the database holds as its host counts them against its quota."""
        ...


class MachineMemory(Protocol):
    def used_bytes(self) -> int:
        """This process's resident memory."""
        ...

    def limit_bytes(self) -> int:
        """What the machine allows this process (its container's limit)."""
        ...


class CommandMeter(Protocol):
    """The Redis commands the app sends, counted as Upstash bills them (each command a Lua
    script runs included)."""

    async def this_month(self) -> int:
        """Every instance's commands in the current calendar month (UTC) so far, as far as
        they were flushed, plus this instance's not yet flushed."""
        ...


class ErrorBudget(Protocol):
    def used_today(self) -> int:
        """Error reports this instance sent to the error tracker this UTC day."""
        ...


class UsageDays(Protocol):
    """Per-UTC-day usage counters shared by every instance (`day` is `YYYY-MM-DD`)."""

    async def add_log_bytes(self, day: str, n: int) -> None:
        """Add `n` log bytes to `day` (made if it is new)."""
        ...

    async def log_bytes(self, day: str) -> int:
        """The log bytes added to `day` so far; 0 for a day never added to."""
        ...


class LogMeter(Protocol):
    """The bytes shipped to the log service (Better Stack)."""

    async def today(self) -> int:
        """Every instance's bytes this UTC day as far as they were flushed, plus this
        instance's not yet flushed."""
        ...
