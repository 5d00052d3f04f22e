"""The per-day usage counters in this process (development, tests)."""

from __future__ import annotations


class MemoryUsageDays:
    def __init__(self) -> None:
        self._log_bytes: dict[str, int] = {}

    async def add_log_bytes(self, day: str, n: int) -> None:
        self._log_bytes[day] = self._log_bytes.get(day, 0) + n

    async def log_bytes(self, day: str) -> int:
        return self._log_bytes.get(day, 0)


class NoLogMeter:
    """Without Logtail nothing is shipped: the gauge reads 0 of its limit."""

    async def today(self) -> int:
        return 0


__all__ = ["MemoryUsageDays", "NoLogMeter"]
