from __future__ import annotations

from datetime import datetime

from domain.mail.model import MailDay, MailOutcome, SuppressionReason


class MemoryMailReputation:
    """The suppression list and the daily counters in this process (development, tests)."""

    def __init__(self) -> None:
        self._suppressed: dict[str, tuple[SuppressionReason, datetime]] = {}
        self._days: dict[str, dict[MailOutcome, int]] = {}

    async def suppress(self, key: str, reason: SuppressionReason, at: datetime) -> bool:
        if key in self._suppressed:
            return False
        self._suppressed[key] = (reason, at)
        return True

    async def is_suppressed(self, key: str) -> bool:
        return key in self._suppressed

    async def suppressed_count(self) -> int:
        return len(self._suppressed)

    async def count(self, day: str, outcome: MailOutcome, n: int = 1) -> None:
        counts = self._days.setdefault(day, {})
        counts[outcome] = counts.get(outcome, 0) + n

    async def days(self, first: str, last: str) -> list[MailDay]:
        return [
            MailDay(d, *(self._days[d].get(o, 0) for o in MailOutcome))  # MailDay's field order
            for d in sorted(self._days)
            if first <= d <= last
        ]
