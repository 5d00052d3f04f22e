"""Background work and the event loop report what fails in them, once, with the request that
started the work."""

from __future__ import annotations

import asyncio
import gc

import pytest

from adapters.memory.errors import MemoryErrorReporter
from adapters.system.tasks import AsyncioBackgroundTasks
from adapters.telemetry import context as log_context
from config.lifecycle import Lifecycle

pytestmark = pytest.mark.unit


async def failing() -> None:
    raise RuntimeError("the mail provider answered 500")


async def test_a_failed_background_task_is_reported_with_the_request_that_spawned_it() -> None:
    reporter = MemoryErrorReporter()
    tasks = AsyncioBackgroundTasks(reporter)
    token = log_context.bind(request_id="req-5", user_id="user-5")
    try:
        tasks.spawn(failing(), name="otp-login")
    finally:
        log_context.unbind(token)
    await tasks.drain(5)
    await asyncio.sleep(0)  # the done callback

    [report] = reporter.reports
    assert str(report.error) == "the mail provider answered 500"
    assert report.context.source == "task"
    assert report.context.route == "otp-login"
    assert (report.context.request_id, report.context.user_id) == ("req-5", "user-5")


async def test_a_cancelled_background_task_is_not_an_error() -> None:
    reporter = MemoryErrorReporter()
    tasks = AsyncioBackgroundTasks(reporter)
    tasks.spawn(asyncio.sleep(10), name="slow")
    await tasks.drain(0.01)
    assert reporter.reports == []


async def test_a_task_exception_nobody_retrieved_is_reported_by_the_lifecycle() -> None:
    reporter = MemoryErrorReporter()
    lifecycle = Lifecycle(warm=[], lazy=[], close_timeout_s=1, errors=reporter)
    lifecycle.start()
    try:
        task = asyncio.get_running_loop().create_task(failing(), name="forgotten")
        await asyncio.wait([task])
        del task
        gc.collect()  # the loop's exception handler runs when the task is collected
        await asyncio.sleep(0)
    finally:
        await lifecycle.stop()

    [report] = reporter.reports
    assert report.context.source == "asyncio"
    assert report.context.route == "forgotten"


class HangingReporter(MemoryErrorReporter):
    async def flush(self, timeout_s: float) -> bool:
        await asyncio.sleep(3600)
        return True


async def test_the_final_flush_at_stop_is_bounded() -> None:
    lifecycle = Lifecycle(
        warm=[], lazy=[], close_timeout_s=1, errors=HangingReporter(), final_flush_s=0.05
    )
    lifecycle.start()
    await asyncio.wait_for(lifecycle.stop(), timeout=10)  # returns: it does not hang
