"""The admin API's values (no ports: the wire shapes read them)."""

from __future__ import annotations

from dataclasses import dataclass

from domain.auth.model import User

SEARCH_MAX = 100  # the longest search text
PAGE_MAX = 100


@dataclass(frozen=True, slots=True)
class AdminUserView:
    user: User
    sessions: int


@dataclass(frozen=True, slots=True)
class AdminUserPage:
    items: tuple[AdminUserView, ...]
    total: int  # every account, whatever the search
    has_more: bool


@dataclass(frozen=True, slots=True)
class GaugeLimits:
    mongo_bytes: int
    s3_bytes: int
    redis_commands_per_month: int
    error_reports_per_day: int
    log_bytes_per_day: int = 0


@dataclass(frozen=True, slots=True)
class Gauge:
    name: str
    used: int
    limit: int
    unit: str  # bytes or commands
    projected: int | None = None  # at the month's end, at the pace so far

    @property
    def percent(self) -> float:
        return round(100.0 * self.used / self.limit, 2) if self.limit > 0 else 0.0

    @property
    def projected_percent(self) -> float | None:
        if self.projected is None or self.limit <= 0:
            return None
        return round(100.0 * self.projected / self.limit, 2)
