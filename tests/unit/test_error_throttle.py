"""The quota guard in front of the error reporter: one report per fingerprint per 10 minutes
(with the count of what it stood for), and at most a daily budget."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.memory.clock import MemoryClock
from adapters.memory.errors import MemoryErrorReporter
from adapters.telemetry.throttle import ThrottledErrorReporter, fingerprint
from ports.errors import ErrorContext

pytestmark = pytest.mark.unit

CONTEXT = ErrorContext("http", route="/api/v1/things", request_id="r1", user_id="u1")


def failure_here(message: str = "boom") -> RuntimeError:
    try:
        raise RuntimeError(message)
    except RuntimeError as error:
        return error


def failure_elsewhere() -> KeyError:
    try:
        raise KeyError("missing")
    except KeyError as error:
        return error


def guarded(budget: int = 150) -> tuple[ThrottledErrorReporter, MemoryErrorReporter, MemoryClock]:
    clock = MemoryClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    sink = MemoryErrorReporter(capacity=10_000)
    return ThrottledErrorReporter(sink, clock, daily_budget=budget), sink, clock


def test_the_same_error_twice_is_one_fingerprint_whatever_its_message() -> None:
    assert fingerprint(failure_here("user 1"), "http") == fingerprint(
        failure_here("user 2"), "http"
    )
    assert fingerprint(failure_here(), "http") != fingerprint(failure_elsewhere(), "http")
    assert fingerprint(failure_here(), "http") != fingerprint(failure_here(), "task")


def test_a_burst_of_1000_identical_errors_is_reported_once() -> None:
    guard, sink, _ = guarded()
    for _ in range(1000):
        guard.report(failure_here(), CONTEXT)

    [report] = sink.reports
    assert report.context.occurrences == 1
    assert report.context.fingerprint == fingerprint(failure_here(), "http")
    assert (guard.stats.reported, guard.stats.duplicates) == (1, 999)


def test_after_the_window_the_next_report_carries_the_count_of_the_suppressed_ones() -> None:
    guard, sink, clock = guarded()
    for _ in range(5):
        guard.report(failure_here(), CONTEXT)
    clock.advance(599)
    guard.report(failure_here(), CONTEXT)
    assert len(sink.reports) == 1

    clock.advance(1)  # 10 minutes after the first report
    guard.report(failure_here(), CONTEXT)

    assert [r.context.occurrences for r in sink.reports] == [1, 6]


def test_different_errors_are_reported_separately() -> None:
    guard, sink, _ = guarded()
    guard.report(failure_here(), CONTEXT)
    guard.report(failure_elsewhere(), CONTEXT)
    guard.report(failure_here(), ErrorContext("task", route="otp-login"))

    assert len(sink.reports) == 3


def test_the_daily_budget_holds_and_opens_again_the_next_utc_day() -> None:
    guard, sink, clock = guarded(budget=2)
    errors = [failure_here(), failure_elsewhere()]
    try:
        raise ValueError("third kind")
    except ValueError as third:
        errors.append(third)
    for error in errors:
        guard.report(error, CONTEXT)
    assert len(sink.reports) == 2
    assert guard.stats.over_budget == 1

    clock.advance(15 * 3600)  # 00:00 UTC has passed
    guard.report(errors[2], CONTEXT)

    assert len(sink.reports) == 3
    assert sink.reports[-1].context.occurrences == 2  # the one the budget held back, and this


def test_a_budget_of_zero_reports_nothing() -> None:
    guard, sink, _ = guarded(budget=0)
    guard.report(failure_here(), CONTEXT)
    assert sink.reports == []


class BrokenReporter:
    def report(self, error: BaseException, context: ErrorContext) -> None:
        raise OSError("the reporter itself is broken")

    async def flush(self, timeout_s: float) -> bool:
        return True


def test_a_failing_reporter_never_raises_to_the_caller() -> None:
    guard = ThrottledErrorReporter(BrokenReporter(), MemoryClock())
    guard.report(failure_here(), CONTEXT)
    assert guard.stats.failed == 1


def test_used_today_is_the_days_reports_for_the_admin_gauge() -> None:
    guard, sink, clock = guarded(budget=2)
    assert guard.used_today() == 0
    guard.report(failure_here(), CONTEXT)
    assert guard.used_today() == 1
    guard.report(failure_here(), CONTEXT)  # a duplicate: not sent, not counted
    guard.report(failure_elsewhere(), CONTEXT)
    try:
        raise ValueError("third kind")
    except ValueError as third:
        guard.report(third, CONTEXT)  # over the budget
    assert (guard.used_today(), len(sink.reports)) == (2, 2)
    clock.advance(24 * 3600)
    assert guard.used_today() == 0
