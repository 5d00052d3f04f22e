from __future__ import annotations

import math

from ports.clock import Clock

SWEEP_MIN = 1024


class ExpiringDict[V]:
    """A dict whose entries expire on the injected clock, like keys with a TTL in Redis.

    Expired entries go when read, and all at once whenever the dict has doubled since the last
    sweep: a key written once and never read again (a rate-limit window) does not stay, so a
    long-lived process (the in-process limits) holds about what is live."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._items: dict[str, tuple[V, float]] = {}
        self._sweep_at = SWEEP_MIN

    def get(self, key: str) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] <= self._clock.monotonic():
            del self._items[key]
            return None
        return item[0]

    def set(self, key: str, value: V, ttl_s: float) -> None:
        now = self._clock.monotonic()
        self._items[key] = (value, now + ttl_s)
        if len(self._items) >= self._sweep_at:
            self._items = {k: item for k, item in self._items.items() if item[1] > now}
            self._sweep_at = max(SWEEP_MIN, 2 * len(self._items))

    def replace(self, key: str, value: V) -> None:
        """Change the value and keep the expiry (Redis's KEEPTTL)."""
        if self.get(key) is not None:
            self._items[key] = (value, self._items[key][1])

    def ttl(self, key: str) -> int:
        if self.get(key) is None:
            return 0
        return max(1, math.ceil(self._items[key][1] - self._clock.monotonic()))

    def delete(self, key: str) -> None:
        self._items.pop(key, None)

    def held(self) -> int:
        """Entries in memory, the expired ones not swept yet included."""
        return len(self._items)

    def keys(self) -> list[str]:
        return [k for k in list(self._items) if self.get(k) is not None]
