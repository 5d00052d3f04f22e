"""The in-memory TTL dict behind the memory adapters and the in-process limits: what expired
and is never read again does not stay in memory."""

from __future__ import annotations

import pytest

from adapters.memory.clock import MemoryClock
from adapters.memory.rate_limit import MemoryRateLimiter
from adapters.memory.ttl import SWEEP_MIN, ExpiringDict

pytestmark = pytest.mark.unit


def test_expired_entries_never_read_again_are_swept() -> None:
    clock = MemoryClock()
    items: ExpiringDict[int] = ExpiringDict(clock)
    for n in range(10 * SWEEP_MIN):
        items.set(f"user{n}", n, 10)
        clock.advance(0.01)  # 10 s of traffic: about 1,000 keys live at any time
    assert items.held() <= 3 * SWEEP_MIN
    assert len(items.keys()) == pytest.approx(1000, abs=2)


async def test_a_window_still_counts_after_a_sweep() -> None:
    clock = MemoryClock()
    limiter = MemoryRateLimiter(clock)
    await limiter.hit("rate:ada:chat", 20, 10)
    for n in range(3 * SWEEP_MIN):  # other users' windows, expiring
        await limiter.hit(f"rate:u{n}:chat", 20, 1)
        clock.advance(0.001)
    assert (await limiter.hit("rate:ada:chat", 20, 10)).count == 2
