from __future__ import annotations

import math

from ports.clock import Clock


class ExpiringDict[V]:
    """A dict whose entries expire on the injected clock, like keys with a TTL in Redis."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._items: dict[str, tuple[V, float]] = {}

    def get(self, key: str) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] <= self._clock.monotonic():
            del self._items[key]
            return None
        return item[0]

    def set(self, key: str, value: V, ttl_s: float) -> None:
        self._items[key] = (value, self._clock.monotonic() + ttl_s)

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

    def keys(self) -> list[str]:
        return [k for k in list(self._items) if self.get(k) is not None]
