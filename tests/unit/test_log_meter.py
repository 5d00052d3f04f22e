"""The log byte meter's flush rules (adapters/logtail/meter.py): the shipper's new bytes go to
the UTC day's counter at most every interval (started by an upload) and at shutdown;
nothing is written when idle."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from adapters.logtail.meter import LogByteMeter
from adapters.logtail.shipper import ShipperStats
from adapters.memory.clock import MemoryClock
from adapters.memory.usage_days import MemoryUsageDays


class RecordingDays(MemoryUsageDays):
    """The memory store, with each add kept (the writes a flush costs) and failures on demand."""

    def __init__(self) -> None:
        super().__init__()
        self.adds: list[tuple[str, int]] = []
        self.fail = False

    async def add_log_bytes(self, day: str, n: int) -> None:
        if self.fail:
            raise ConnectionError("store down")
        self.adds.append((day, n))
        await super().add_log_bytes(day, n)


@pytest.fixture
def clock() -> MemoryClock:
    return MemoryClock(datetime(2026, 12, 4, 12, 0, tzinfo=UTC))


async def test_a_flush_adds_the_pending_bytes_and_only_once(clock: MemoryClock) -> None:
    stats, days = ShipperStats(), RecordingDays()
    meter = LogByteMeter(stats, days, clock)
    stats.sent_bytes = 1500
    assert await meter.today() == 1500  # not flushed yet: this instance's pending
    await meter.flush()
    assert days.adds == [("2026-12-04", 1500)]
    assert meter.pending == 0
    await meter.flush()  # nothing new: no write
    assert days.adds == [("2026-12-04", 1500)]
    stats.sent_bytes += 200
    await meter.flush()
    assert days.adds == [("2026-12-04", 1500), ("2026-12-04", 200)]
    assert await meter.today() == 1700


async def test_other_instances_and_restarts_add_to_the_same_day(clock: MemoryClock) -> None:
    days = RecordingDays()
    before_restart, other = ShipperStats(sent_bytes=1000), ShipperStats(sent_bytes=300)
    for stats in (before_restart, other):
        await LogByteMeter(stats, days, clock).close()
    restarted = LogByteMeter(ShipperStats(sent_bytes=40), days, clock)
    assert await restarted.today() == 1340


async def test_the_bytes_go_to_the_day_of_the_flush(clock: MemoryClock) -> None:
    stats, days = ShipperStats(sent_bytes=10), RecordingDays()
    meter = LogByteMeter(stats, days, clock)
    await meter.flush()
    clock.advance(12 * 3600)  # 2026-12-05 00:00
    stats.sent_bytes += 5
    await meter.flush()
    assert days.adds == [("2026-12-04", 10), ("2026-12-05", 5)]
    assert await meter.today() == 5


async def test_a_failed_flush_keeps_its_bytes_for_the_next(clock: MemoryClock) -> None:
    stats, days = ShipperStats(sent_bytes=800), RecordingDays()
    meter = LogByteMeter(stats, days, clock)
    days.fail = True
    await meter.flush()  # logged, not raised
    assert meter.pending == 800
    days.fail = False
    stats.sent_bytes += 1
    await meter.flush()
    assert days.adds == [("2026-12-04", 801)]


async def test_an_upload_starts_a_flush_once_the_interval_passed_and_idle_writes_nothing(
    clock: MemoryClock,
) -> None:
    stats, days = ShipperStats(), RecordingDays()
    meter = LogByteMeter(stats, days, clock, flush_every_s=600)
    meter.start()
    clock.advance(3600)
    await asyncio.sleep(0.02)
    assert days.adds == []  # no timer: nothing shipped, nothing written
    stats.sent_bytes = 4096
    clock.advance(-3600 + 599)  # 599 s after the meter started: not yet
    await asyncio.to_thread(meter.shipped)  # the shipper's thread, after an accepted upload
    await asyncio.sleep(0.02)
    assert days.adds == []
    clock.advance(1)
    await asyncio.to_thread(meter.shipped)
    await asyncio.sleep(0.02)
    assert days.adds == [("2026-12-04", 4096)]
    stats.sent_bytes += 10
    await asyncio.to_thread(meter.shipped)  # within 10 minutes of that flush: waits
    await asyncio.sleep(0.02)
    assert days.adds == [("2026-12-04", 4096)]
    clock.advance(600)
    await asyncio.to_thread(meter.shipped)
    await asyncio.sleep(0.02)
    assert days.adds == [("2026-12-04", 4096), ("2026-12-04", 10)]


async def test_the_shutdown_flush_adds_what_is_pending_and_stops_the_interval(
    clock: MemoryClock,
) -> None:
    stats, days = ShipperStats(), RecordingDays()
    meter = LogByteMeter(stats, days, clock, flush_every_s=600)
    meter.start()
    stats.sent_bytes = 250
    await meter.close()  # long before the interval
    assert days.adds == [("2026-12-04", 250)]
    stats.sent_bytes += 9
    clock.advance(3600)
    await asyncio.to_thread(meter.shipped)  # the shipper's final upload, after the close
    await asyncio.sleep(0.02)
    assert days.adds == [("2026-12-04", 250)]  # no flush after the last one
