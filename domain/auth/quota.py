"""The per-user API quota: a use case of its own, so it can move in-process by itself."""

from __future__ import annotations

from dataclasses import dataclass

from domain.auth.model import RateWindow
from ports.rate_limit import RateLimiter


@dataclass(slots=True)
class ApiQuota:
    limiter: RateLimiter
    requests_per_minute: int

    async def count(self, user_id: str) -> RateWindow:
        """One authenticated request against the user's per-minute quota."""
        return await self.limiter.hit(f"rate:{user_id}:api", self.requests_per_minute, 60)
