"""The ErrorReporter port, against the memory adapter and the Rollbar adapter (pyrollbar for
real, over HTTP to the local capture server standing in for api.rollbar.com)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.memory.errors import MemoryErrorReporter
from adapters.rollbar.reporter import RollbarErrorReporter
from ports.errors import ErrorContext, ErrorReporter
from tests.support.capture import CaptureServer, refusing_url

pytestmark = pytest.mark.contract


@dataclass(frozen=True, slots=True)
class Delivered:
    exception_class: str
    message: str
    request_id: str | None
    route: str | None
    user_id: str | None
    occurrences: int
    fingerprint: str | None


@dataclass
class Subject:
    reporter: ErrorReporter
    delivered: Callable[[], list[Delivered]]


@pytest.fixture(scope="module")
def capture() -> Iterator[CaptureServer]:
    with CaptureServer() as server:
        yield server


def _from_memory(reporter: MemoryErrorReporter) -> list[Delivered]:
    return [
        Delivered(
            type(r.error).__name__,
            str(r.error),
            r.context.request_id,
            r.context.route,
            r.context.user_id,
            r.context.occurrences,
            r.context.fingerprint,
        )
        for r in reporter.reports
    ]


def _from_rollbar(capture: CaptureServer) -> list[Delivered]:
    delivered = []
    for item in capture.items:
        data: dict[str, Any] = item["data"]
        exception = data["body"]["trace"]["exception"]
        custom = data.get("custom", {})
        delivered.append(
            Delivered(
                exception["class"],
                exception["message"],
                custom.get("request_id"),
                custom.get("route"),
                data.get("person", {}).get("id"),
                custom["occurrences"],
                data.get("fingerprint"),
            )
        )
    return delivered


@pytest.fixture(params=["memory", "rollbar"])
def subject(request: pytest.FixtureRequest, capture: CaptureServer) -> Iterator[Subject]:
    if request.param == "memory":
        memory = MemoryErrorReporter()
        yield Subject(memory, lambda: _from_memory(memory))
        return
    capture.clear()
    capture.mode = "ok"
    rollbar = RollbarErrorReporter(
        "contract-token", environment="test", code_version="v1", endpoint=capture.rollbar_endpoint
    )
    try:
        yield Subject(rollbar, lambda: _from_rollbar(capture))
    finally:
        rollbar.close()


def raised(message: str) -> ValueError:
    try:
        raise ValueError(message)
    except ValueError as error:
        return error


CONTEXT = ErrorContext(
    "http",
    route="/api/v1/files/<id>",
    request_id="req-1",
    user_id="user-1",
    method="GET",
    fingerprint="f" * 32,
    occurrences=3,
)


async def test_a_report_is_delivered_with_its_context(subject: Subject) -> None:
    subject.reporter.report(raised("the widget broke"), CONTEXT)

    assert await subject.reporter.flush(10)
    assert subject.delivered() == [
        Delivered(
            "ValueError", "the widget broke", "req-1", "/api/v1/files/<id>", "user-1", 3, "f" * 32
        )
    ]


async def test_reports_are_delivered_in_order(subject: Subject) -> None:
    for n in range(3):
        subject.reporter.report(raised(f"failure {n}"), ErrorContext("task", route=f"task-{n}"))

    assert await subject.reporter.flush(10)
    assert [d.message for d in subject.delivered()] == ["failure 0", "failure 1", "failure 2"]
    assert [d.route for d in subject.delivered()] == ["task-0", "task-1", "task-2"]


async def test_flush_with_nothing_reported_is_immediate(subject: Subject) -> None:
    assert await subject.reporter.flush(0.01)
    assert subject.delivered() == []


# Rollbar only: what the real endpoint can do to the adapter ---------------------------------


async def test_rollbar_sends_its_token_and_code_version(capture: CaptureServer) -> None:
    capture.clear()
    capture.mode = "ok"
    reporter = RollbarErrorReporter(
        "token-for-this-test",
        environment="production",
        code_version="registry.fly.io/flowhub:deployment-01J00000000000000000000000",
        endpoint=capture.rollbar_endpoint,
    )
    reporter.report(raised("boom"), CONTEXT)
    assert await reporter.flush(10)
    reporter.close()

    [item] = capture.items
    assert item["access_token"] == "token-for-this-test"
    assert item["data"]["environment"] == "production"
    assert item["data"]["code_version"] == "flowhub:deployment-01J00000000000000000000000"[-40:]
    assert reporter.stats.sent == 1


async def test_rollbar_counts_a_429_instead_of_dropping_it_silently(capture: CaptureServer) -> None:
    capture.clear()
    capture.mode = 429
    reporter = RollbarErrorReporter(
        "t", environment="test", code_version="v1", endpoint=capture.rollbar_endpoint
    )
    reporter.report(raised("over quota"), CONTEXT)
    assert await reporter.flush(10)
    reporter.close()
    capture.mode = "ok"

    assert (reporter.stats.sent, reporter.stats.rate_limited) == (0, 1)


async def test_rollbar_refusing_connections_is_counted_and_never_raised() -> None:
    reporter = RollbarErrorReporter(
        "t", environment="test", code_version="v1", endpoint=f"{refusing_url()}/api/1/"
    )
    reporter.report(raised("nobody listens"), CONTEXT)
    assert await reporter.flush(10)
    reporter.close()

    assert (reporter.stats.sent, reporter.stats.failed) == (0, 1)


async def test_rollbar_hanging_never_holds_the_caller_and_flush_is_bounded() -> None:
    with CaptureServer(mode="hang") as hanging:
        reporter = RollbarErrorReporter(
            "t", environment="test", code_version="v1", endpoint=hanging.rollbar_endpoint
        )
        for n in range(100):  # more than the queue holds
            reporter.report(raised(f"hang {n}"), CONTEXT)
        assert reporter.stats.dropped > 0  # a full queue drops, it does not wait

        started = time.monotonic()
        assert not await reporter.flush(0.3)
        assert time.monotonic() - started < 5  # bounded (generous: no timing claim here)
        reporter.close()
