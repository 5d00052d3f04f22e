from __future__ import annotations

from collections.abc import Sequence

from adapters.memory.ttl import ExpiringDict
from domain.auth.model import RateWindow, Reservation
from ports.clock import Clock


class MemoryRateLimiter:
    def __init__(self, clock: Clock) -> None:
        self._counts: ExpiringDict[int] = ExpiringDict(clock)
        self._slots: ExpiringDict[int] = ExpiringDict(clock)

    async def hit(self, key: str, limit: int, window_s: int) -> RateWindow:
        return self._hit(key, limit, window_s)

    def _hit(self, key: str, limit: int, window_s: int) -> RateWindow:
        count = (self._counts.get(key) or 0) + 1
        if count == 1:
            self._counts.set(key, count, window_s)
        else:
            self._counts.replace(key, count)
        return RateWindow(count, limit, self._counts.ttl(key))

    async def hit_each(self, limits: Sequence[tuple[str, int]], window_s: int) -> RateWindow | None:
        for key, limit in limits:  # no await: atomic on the event loop
            window = self._hit(key, limit, window_s)
            if window.exceeded:
                return window
        return None

    async def peek(self, key: str, limit: int) -> RateWindow:
        return RateWindow(self._counts.get(key) or 0, limit, self._counts.ttl(key))

    async def reset(self, key: str) -> None:
        self._counts.delete(key)

    async def claim(self, key: str, ttl_s: int) -> int:
        if self._counts.get(key) is not None:
            return self._counts.ttl(key)
        self._counts.set(key, 1, ttl_s)
        return 0

    # No await between the reads and the writes: atomic on the event loop, as the Redis
    # script is on the server.
    async def reserve(self, key: str, limit: int, window_s: int, hold_s: int) -> Reservation:
        count = self._counts.get(key) or 0
        if count >= limit:
            return Reservation(False, retry_in_s=self._counts.ttl(key))
        if self._slots.get(key) is not None:
            return Reservation(False, busy=True, retry_in_s=self._slots.ttl(key))
        self._slots.set(key, 1, hold_s)
        if count == 0:
            self._counts.set(key, 1, window_s)
        else:
            self._counts.replace(key, count + 1)
        return Reservation(True)

    async def release(self, key: str, *, succeeded: bool) -> None:
        self._slots.delete(key)
        if succeeded:
            self._counts.delete(key)

    async def forget(self, key: str) -> None:
        self._slots.delete(key)
        self._counts.delete(key)
