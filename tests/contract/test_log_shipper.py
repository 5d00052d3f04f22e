"""The Logtail shipper with the real logtail-python uploader over HTTP, against the local
capture server standing in for Better Stack: what it ships, and that it never waits on it."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from adapters.logtail.shipper import LogtailShipper
from tests.support.capture import CaptureServer, refusing_url

pytestmark = pytest.mark.contract

log = logging.getLogger("flowhub.shipper-test")


@pytest.fixture
def debug_logs() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.setLevel(level)


@pytest_asyncio.fixture
async def capture() -> AsyncIterator[CaptureServer]:
    with CaptureServer() as server:
        yield server


async def shipping(host: str, level: str = "INFO", **options: float) -> LogtailShipper:
    shipper = LogtailShipper("test-token", host=host, level=level, **options)  # type: ignore[arg-type]
    shipper.attach()
    await shipper.open()
    return shipper


async def test_info_and_warning_are_shipped_with_their_fields_and_errors_are_not(
    capture: CaptureServer, debug_logs: None
) -> None:
    shipper = await shipping(capture.logtail_host)
    log.debug("not at INFO")
    log.info("hello %s", "there", extra={"user_id": "u1", "status": 200})
    log.warning("careful")
    log.error("an error goes to Rollbar, not here")
    assert await shipper.close(5)

    assert [(r["level"], r["message"]) for r in capture.records] == [
        ("info", "hello there"),
        ("warning", "careful"),
    ]
    first = capture.records[0]
    assert (first["user_id"], first["status"], first["logger"]) == ("u1", 200, log.name)
    assert first["dt"].endswith("Z")
    assert shipper.stats.sent == 2 and shipper.stats.dropped == 0


async def test_debug_is_shipped_when_the_level_is_debug(
    capture: CaptureServer, debug_logs: None
) -> None:
    shipper = await shipping(capture.logtail_host, level="DEBUG")
    log.debug("details")
    assert await shipper.close(5)
    assert [r["message"] for r in capture.records] == ["details"]


async def test_records_logged_before_the_sdk_loads_are_shipped_after(
    capture: CaptureServer, debug_logs: None
) -> None:
    shipper = LogtailShipper("test-token", host=capture.logtail_host)
    shipper.attach()
    log.info("early")
    await shipper.open()
    log.info("late")
    assert await shipper.close(5)
    assert [r["message"] for r in capture.records] == ["early", "late"]


async def test_a_refusing_endpoint_is_counted_as_dropped(debug_logs: None) -> None:
    shipper = await shipping(refusing_url())
    for n in range(10):
        log.info("record %d", n)
    assert await shipper.close(5)  # given up, not waited for
    assert shipper.stats.failed == 10 and shipper.stats.sent == 0


async def test_a_hanging_endpoint_fills_the_buffer_which_drops_and_the_close_is_bounded(
    debug_logs: None,
) -> None:
    with CaptureServer(mode="hang") as hanging:
        shipper = await shipping(hanging.logtail_host, buffer_capacity=20, flush_interval_s=0.01)
        log.info("the first batch hangs")
        assert hanging.wait_for(lambda: hanging.hanging == 1)
        for n in range(100):
            log.info("record %d", n)  # returns at once: a full buffer drops
        started = time.monotonic()
        assert not await shipper.close(0.2)
        assert time.monotonic() - started < 5  # bounded (generous: no timing claim)
    assert shipper.stats.dropped_full == 80


async def test_each_accepted_upload_calls_on_sent_and_its_bytes_are_what_logtail_got(
    capture: CaptureServer, debug_logs: None
) -> None:
    """What the log byte meter hangs on (adapters/logtail/meter.py)."""
    calls: list[int] = []
    shipper = LogtailShipper("test-token", host=capture.logtail_host, flush_interval_s=0.01)
    shipper.on_sent = lambda: calls.append(shipper.stats.sent_bytes)
    shipper.attach()
    await shipper.open()
    log.info("one")
    assert capture.wait_for(lambda: len(capture.batch_bytes) == 1)
    log.info("two")
    assert await shipper.close(5)
    assert len(calls) == shipper.stats.batches == len(capture.batch_bytes) == 2
    assert calls[-1] == shipper.stats.sent_bytes == sum(capture.batch_bytes)


async def test_a_refused_upload_does_not_call_on_sent(debug_logs: None) -> None:
    calls: list[int] = []
    shipper = LogtailShipper("test-token", host=refusing_url())
    shipper.on_sent = lambda: calls.append(1)
    shipper.attach()
    await shipper.open()
    log.info("refused")
    assert await shipper.close(5)
    assert calls == [] and shipper.stats.sent_bytes == 0
