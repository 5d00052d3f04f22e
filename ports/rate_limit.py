from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.auth.model import RateWindow, Reservation


class RateLimiter(Protocol):
    """Fixed-window counters (`rate:...` keys), each expiring with its window.

    Raises `ServiceUnavailable` when its store cannot be reached: callers decide whether to
    fail closed (login, codes) or open (the general API limit).
    """

    async def hit(self, key: str, limit: int, window_s: int) -> RateWindow:
        """Count one event in the window that starts at the key's first event."""
        ...

    async def hit_each(self, limits: Sequence[tuple[str, int]], window_s: int) -> RateWindow | None:
        """Count one event in the window of each `(key, limit)`, in order, in one atomic step,
        stopping at the first window that is then over its limit: that window, or None when
        none is. A refusal by an earlier key leaves the later ones uncounted."""
        ...

    async def peek(self, key: str, limit: int) -> RateWindow: ...

    async def reset(self, key: str) -> None: ...

    async def claim(self, key: str, ttl_s: int) -> int:
        """Take a cooldown slot: 0 if it was free (now taken for `ttl_s`), otherwise the
        seconds until it frees up."""
        ...

    async def reserve(self, key: str, limit: int, window_s: int, hold_s: int) -> Reservation:
        """Before evaluating a guess, in one atomic step: refuse when the window of `key`
        already counts `limit` guesses, or when another evaluation holds the key's slot;
        otherwise count this guess and hold the slot for at most `hold_s`. So concurrent
        callers get at most `limit` grants a window, and one at a time."""
        ...

    async def release(self, key: str, *, succeeded: bool) -> None:
        """Free the slot `reserve` granted; after a success the window's count starts over."""
        ...

    async def forget(self, key: str) -> None:
        """Drop the key's counter (or cooldown) and its evaluation slot, whatever they hold:
        nothing of the key is left. Idempotent."""
        ...
