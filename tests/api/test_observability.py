"""Logs to Logtail and errors to Rollbar, through the real app and the real SDKs (logtail-python
and pyrollbar over HTTP), against the local capture server standing in for both services."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client

from adapters.logtail.shipper import LogtailShipper
from adapters.memory.errors import MemoryErrorReporter
from adapters.telemetry.throttle import ThrottledErrorReporter
from config.container import Container
from tests.api.auth_client import PASSWORD, AuthClient, use_fast_hasher
from tests.api.conftest import AppFactory
from tests.support.capture import CaptureServer
from tests.support.routes import LEAKY_SECRETS

pytestmark = pytest.mark.api

VERSION = "flowhub-test-7f3a9c1"


@pytest.fixture(scope="module")
def capture() -> Iterator[CaptureServer]:
    with CaptureServer() as server:
        yield server


@pytest.fixture
def info_logs() -> Iterator[None]:
    """The root logger at INFO, as `configure_logging` sets it in a served process."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.setLevel(level)


type Served = Callable[..., Any]


@pytest.fixture
def served(make_app: AppFactory, capture: CaptureServer, info_logs: None) -> Callable[..., Any]:
    """An app whose Rollbar and Logtail are the capture server, started and stopped (the stop
    runs the final flush, so what was sent is in the capture server afterwards)."""

    @asynccontextmanager
    async def serve(**env: str) -> AsyncIterator[tuple[Client, Container]]:
        capture.clear()
        capture.mode = "ok"
        app, container = make_app(
            {
                "APP_VERSION": VERSION,
                "ROLLBAR_TOKEN": "rollbar-test-token",
                "ROLLBAR_ENDPOINT": capture.rollbar_endpoint,
                "LOGTAIL_TOKEN": "logtail-test-token",
                "LOGTAIL_HOST": capture.logtail_host,
                **env,
            }
        )
        use_fast_hasher(container)
        async with app.test_app() as test_app:
            shipper = container.adapters.log_shipper()
            assert isinstance(shipper, LogtailShipper)
            await shipper.open()  # what the warm-up does 1 s after start
            yield test_app.test_client(), container

    return serve


def _token(container: Container, user_id: str = "user-7") -> str:
    token: str = container.adapters.tokens().issue(user_id, "session-7", datetime.now(UTC)).token
    return token


def _request_records(capture: CaptureServer, route: str) -> list[dict[str, Any]]:
    return [
        r for r in capture.records if r.get("logger") == "flowhub.requests" and r["route"] == route
    ]


async def test_a_request_produces_one_logtail_record_with_its_fields(
    served: Served, capture: CaptureServer
) -> None:
    async with served() as (client, container):
        pair = await AuthClient(client, container).signed_up("ada@example.com")
        response = await client.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
        )
        assert response.status_code == 200

    [record] = _request_records(capture, "/api/v1/users/me")
    assert record["level"] == "info"
    assert record["method"] == "GET"
    assert record["status"] == 200
    assert isinstance(record["duration_ms"], float) and record["duration_ms"] >= 0
    assert record["request_id"] == response.headers["X-Request-ID"]
    assert record["user_id"] == pair["user"]["id"]
    assert "dt" in record and record["message"] == "GET /api/v1/users/me 200"


async def test_workflow_events_reach_logtail_with_ids_and_no_personal_data(
    served: Served, capture: CaptureServer
) -> None:
    async with served() as (client, container):
        auth = AuthClient(client, container)
        pair = await auth.signed_up("grace@example.com", name="Grace Hopper")
        status, _, _ = await auth.post(
            "/auth/login", {"email": "grace@example.com", "password": PASSWORD}
        )
        assert status == 200

    events = [r for r in capture.records if r.get("logger") == "flowhub.events"]
    assert [e["event"] for e in events] == [
        "signup", "otp_sent", "otp_verified", "email_verified", "login", "login",
    ]  # fmt: skip
    user_id = pair["user"]["id"]
    assert {e["user_id"] for e in events} == {user_id}
    shipped = json.dumps(capture.records)
    for personal in ("grace@example.com", "Grace Hopper", PASSWORD):
        assert personal not in shipped


async def test_errors_never_go_to_logtail_but_the_request_line_does(
    served: Served, capture: CaptureServer
) -> None:
    async with served() as (client, _):
        response = await client.get("/api/v1/_test/boom")
        assert response.status_code == 500

    assert all(r["level"] in ("debug", "info", "warning") for r in capture.records)
    [line] = _request_records(capture, "/api/v1/_test/boom")
    assert line["status"] == 500


async def test_an_exception_becomes_one_scrubbed_rollbar_item_and_a_contract_500(
    served: Served, capture: CaptureServer
) -> None:
    async with served() as (client, container):
        token = _token(container, "user-42")
        response = await client.post(
            "/api/v1/_test/leak",
            json={"password": "hunter2-hunter2"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 500
        body = await response.get_json()

    assert set(body) == {"error"}
    assert body["error"]["code"] == "internal_error"
    request_id = body["error"]["request_id"]
    assert request_id == response.headers["X-Request-ID"]
    for secret in ("hunter2", "mongodb", "Traceback", "RuntimeError", "leak"):
        assert secret not in json.dumps(body)

    [raw] = capture.raw_items
    [item] = capture.items
    data = item["data"]
    assert data["body"]["trace"]["exception"]["class"] == "RuntimeError"
    assert data["custom"]["request_id"] == request_id
    assert data["custom"]["route"] == "/api/v1/_test/leak"
    assert data["custom"]["occurrences"] == 1
    assert data["person"] == {"id": "user-42"}
    assert data["code_version"] == VERSION
    assert data["environment"] == "test"
    assert data["fingerprint"]
    text = raw.decode()
    for secret in ("hunter2-hunter2", token, *LEAKY_SECRETS.values()):
        assert secret not in text, f"{secret!r} reached Rollbar"
    assert "Authorization" not in text and "authorization" not in text


async def test_4xx_outcomes_are_not_reported(served: Served, capture: CaptureServer) -> None:
    async with served() as (client, container):
        for path in ("/api/v1/_test/missing", "/api/v1/_test/limited", "/api/v1/nowhere"):
            assert 400 <= (await client.get(path)).status_code < 500
        assert (await client.get("/api/v1/users/me")).status_code == 401
        await container.adapters.errors().flush(2)

    assert capture.items == []


async def test_a_burst_of_1000_identical_errors_produces_one_item(
    served: Served, capture: CaptureServer
) -> None:
    async with served() as (client, container):
        for _ in range(20):
            statuses = await asyncio.gather(*(client.get("/api/v1/_test/boom") for _ in range(50)))
            assert {r.status_code for r in statuses} == {500}
        throttle = container.adapters.errors()
        assert isinstance(throttle, ThrottledErrorReporter)
        assert (throttle.stats.reported, throttle.stats.duplicates) == (1, 999)

    assert len(capture.items) == 1


async def test_the_daily_budget_holds(served: Served, capture: CaptureServer) -> None:
    async with served(ERROR_BUDGET_PER_DAY="3") as (client, container):
        for n in range(5):  # five different errors
            assert (await client.get(f"/api/v1/_test/fail/{n}")).status_code == 500
        throttle = container.adapters.errors()
        assert isinstance(throttle, ThrottledErrorReporter)
        assert (throttle.stats.reported, throttle.stats.over_budget) == (3, 2)

    assert len(capture.items) == 3


async def test_without_tokens_errors_stay_in_memory_and_nothing_is_shipped(
    make_app: AppFactory, info_logs: None
) -> None:
    app, container = make_app({})
    assert container.adapters.log_shipper() is None
    async with app.test_app() as test_app:
        assert (await test_app.test_client().get("/api/v1/_test/boom")).status_code == 500
    sink = container.adapters.error_sink()
    assert isinstance(sink, MemoryErrorReporter)
    [report] = sink.reports
    assert report.context.route == "/api/v1/_test/boom"
    assert report.context.source == "http"
