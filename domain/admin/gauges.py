"""Free-tier gauges: how close each service's free allowance is, with a warning at 80%.

Each gauge is `used` against `limit`; the Redis one is also projected to the month's end at
the pace so far. A gauge at or past the warning share logs `gauge_high` (WARNING) once per
gauge per UTC day per instance, when it is read (the admin API reads them; nothing polls)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime

from domain.admin.model import Gauge, GaugeLimits
from ports.clock import Clock
from ports.events import EventLog
from ports.files import FileRepository
from ports.gauges import CommandMeter, DatabaseUsage, ErrorBudget, LogMeter, MachineMemory

WARN_AT_PERCENT = 80.0


def month_end_projection(used: int, now: datetime) -> int:
    """`used` so far this month, scaled to the whole month at the same pace."""
    days = calendar.monthrange(now.year, now.month)[1]
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elapsed = (now - start).total_seconds()
    if elapsed <= 0:
        return used
    return round(used * days * 86400 / elapsed)


@dataclass(kw_only=True, slots=True)
class FreeTierGauges:
    database: DatabaseUsage
    files: FileRepository
    memory: MachineMemory
    meter: CommandMeter
    errors: ErrorBudget
    logs: LogMeter
    clock: Clock
    events: EventLog
    limits: GaugeLimits
    _warned: dict[str, date] = field(default_factory=dict)

    async def read(self, admin_id: str) -> list[Gauge]:
        self.events.record("admin_action", admin_id=admin_id, action="view_gauges", target_id="")
        now = self.clock.now()
        commands = await self.meter.this_month()
        files = await self.files.overview(0)
        gauges = [
            Gauge(
                "redis_commands_month",
                commands,
                self.limits.redis_commands_per_month,
                "commands",
                month_end_projection(commands, now),
            ),
            Gauge(
                "mongodb_storage",
                await self.database.bytes_used(),
                self.limits.mongo_bytes,
                "bytes",
            ),
            # the files' sizes as their metadata records them (thumbnails included): what the
            # bucket holds for them, without a billed LIST of the bucket
            Gauge("s3_storage", files.bytes, self.limits.s3_bytes, "bytes"),
            Gauge("machine_memory", self.memory.used_bytes(), self.memory.limit_bytes(), "bytes"),
            # this instance's reports against ERROR_BUDGET_PER_DAY (its throttle's own count)
            Gauge(
                "rollbar_reports_today",
                self.errors.used_today(),
                self.limits.error_reports_per_day,
                "reports",
            ),
            # every instance's bytes shipped to Logtail this UTC day (0 without Logtail)
            Gauge(
                "log_bytes_today",
                await self.logs.today(),
                self.limits.log_bytes_per_day,
                "bytes",
            ),
        ]
        for gauge in gauges:
            self._warn_if_high(gauge, now.date())
        return gauges

    def _warn_if_high(self, gauge: Gauge, today: date) -> None:
        # what is used, not the projection: early in a month one busy hour projects far
        if gauge.percent < WARN_AT_PERCENT or self._warned.get(gauge.name) == today:
            return
        self._warned[gauge.name] = today
        self.events.warn(
            "gauge_high",
            gauge=gauge.name,
            used=gauge.used,
            limit=gauge.limit,
            percent=str(gauge.percent),
        )
