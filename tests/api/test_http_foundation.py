"""The HTTP machinery every route relies on: health, errors in the contract's shape, request ids,
CORS and the OpenAPI document."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from dependency_injector import providers
from quart.typing import TestClientProtocol as Client

from tests.api.conftest import AppFactory

pytestmark = pytest.mark.api

ORIGIN = "https://app.flowhub.example"


def assert_error(body: Any, code: str) -> dict[str, Any]:
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["request_id"], str) and error["request_id"]
    assert set(error) <= {"code", "message", "request_id", "details"}
    return error


async def test_health_answers_without_touching_dependencies(client: Client) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["status"] == "ok"
    assert isinstance(body["version"], str)
    assert body["uptime_s"] >= 0
    assert "checks" not in body


async def test_deep_health_reports_each_dependency(client: Client) -> None:
    response = await client.get("/health?deep=1")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"mongo", "redis", "storage"}
    for check in body["checks"].values():
        assert check["ok"] is True
        assert check["adapter"] == "memory"
        assert check["latency_ms"] >= 0


class FailingProbe:
    adapter = "redis"

    def __init__(self, name: str, hang: bool) -> None:
        self.name = name
        self.hang = hang

    async def check(self) -> None:
        if self.hang:
            await asyncio.sleep(30)
        raise ConnectionRefusedError("Error 111 connecting to 10.0.0.7:6379. Connection refused.")


async def test_deep_health_is_503_and_degraded_when_a_dependency_is_down_or_hangs(
    make_app: AppFactory,
) -> None:
    app, container = make_app({"HEALTH_CHECK_TIMEOUT_S": "0.2"})
    container.adapters.probes.override(
        providers.List(
            providers.Object(FailingProbe("redis", hang=False)),
            providers.Object(FailingProbe("mongo", hang=True)),
        )
    )
    async with app.test_app() as test_app:
        started = asyncio.get_running_loop().time()
        response = await test_app.test_client().get("/health?deep=1")
        elapsed = asyncio.get_running_loop().time() - started
    assert response.status_code == 503
    body = await response.get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["redis"] == {
        "ok": False,
        "latency_ms": body["checks"]["redis"]["latency_ms"],
        "adapter": "redis",
        "error": "unavailable",
    }
    assert body["checks"]["mongo"]["error"] == "timeout"
    assert "10.0.0.7" not in await response.get_data(as_text=True)
    assert elapsed < 2, "a hanging dependency must not hold the health check"


async def test_an_unknown_route_is_404_in_the_error_shape(client: Client) -> None:
    response = await client.get("/api/v1/no/such/route")
    assert response.status_code == 404
    assert_error(await response.get_json(), "not_found")


async def test_a_wrong_method_is_405_with_allow(client: Client) -> None:
    response = await client.delete("/health")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert_error(await response.get_json(), "method_not_allowed")


async def test_malformed_json_is_400_invalid_json(client: Client) -> None:
    response = await client.post(
        "/api/v1/_test/echo",
        data='{"email": "a@b.co",',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert_error(await response.get_json(), "invalid_json")


async def test_an_invalid_body_is_422_listing_the_fields_without_their_values(
    client: Client,
) -> None:
    response = await client.post(
        "/api/v1/_test/echo", json={"email": "not-an-email", "password": "hunter2", "name": 7}
    )
    assert response.status_code == 422
    error = assert_error(await response.get_json(), "validation_error")
    fields = {d["field"] for d in error["details"]}
    assert fields == {"email", "password", "name"}
    text = await response.get_data(as_text=True)
    assert "hunter2" not in text and "not-an-email" not in text


async def test_missing_fields_and_a_non_object_body_are_422(client: Client) -> None:
    response = await client.post("/api/v1/_test/echo", json={"email": "a@b.co"})
    assert response.status_code == 422
    error = assert_error(await response.get_json(), "validation_error")
    assert {d["field"] for d in error["details"]} == {"password", "name"}

    response = await client.post("/api/v1/_test/echo", json=["a", "list"])
    assert response.status_code == 422
    assert_error(await response.get_json(), "validation_error")


async def test_a_body_that_is_not_json_is_415(client: Client) -> None:
    response = await client.post(
        "/api/v1/_test/echo", data="email=a@b.co", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert_error(await response.get_json(), "unsupported_media_type")


async def test_a_valid_body_reaches_the_handler(client: Client) -> None:
    response = await client.post(
        "/api/v1/_test/echo", json={"email": "ада@пример.рф", "password": "x" * 12, "name": "Ада"}
    )
    assert response.status_code == 200
    assert await response.get_json() == {"email": "ада@пример.рф", "name": "Ада"}


async def test_an_oversized_body_is_413(client: Client) -> None:
    body = '{"name": "' + "x" * (65 * 1024) + '"}'
    response = await client.post(
        "/api/v1/_test/echo", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert_error(await response.get_json(), "payload_too_large")


async def test_an_exception_is_500_without_internals(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.get("/api/v1/_test/boom", headers={"X-Request-ID": "trace-500"})
    assert response.status_code == 500
    error = assert_error(await response.get_json(), "internal_error")
    assert error["request_id"] == "trace-500"
    text = await response.get_data(as_text=True)
    for leak in ("pymongo", "Traceback", "/srv/app", "RuntimeError"):
        assert leak not in text
    assert any("trace-500" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_domain_errors_map_to_their_status(client: Client) -> None:
    response = await client.get("/api/v1/_test/limited")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "17"
    assert_error(await response.get_json(), "too_many_requests")

    response = await client.get("/api/v1/_test/missing")
    assert response.status_code == 404
    assert assert_error(await response.get_json(), "not_found")["message"] == "No such widget."


async def test_every_response_carries_a_request_id(client: Client) -> None:
    generated = await client.get("/health")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-ID"])

    echoed = await client.get("/api/v1/nowhere", headers={"X-Request-ID": "req-42.abc"})
    assert echoed.headers["X-Request-ID"] == "req-42.abc"
    assert (await echoed.get_json())["error"]["request_id"] == "req-42.abc"

    hostile = await client.get("/health", headers={"X-Request-ID": "<script>" + "x" * 300})
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["X-Request-ID"])


async def test_cors_allows_exactly_the_configured_origins(client: Client) -> None:
    preflight = await client.options(
        "/api/v1/_test/echo",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()

    simple = await client.get("/health", headers={"Origin": ORIGIN})
    assert simple.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Request-ID" in simple.headers["Access-Control-Expose-Headers"]

    stranger = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers


async def test_development_allows_any_origin(make_app: AppFactory) -> None:
    app, _ = make_app({"APP_ENV": "development"})
    async with app.test_app() as test_app:
        response = await test_app.test_client().get(
            "/health", headers={"Origin": "http://localhost:5173"}
        )
    assert response.headers["Access-Control-Allow-Origin"] in ("*", "http://localhost:5173")


async def test_openapi_and_docs_are_served(client: Client) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    spec = await response.get_json()
    assert spec["openapi"].startswith("3.")
    assert "/health" in spec["paths"]
    assert {"200", "503"} <= set(spec["paths"]["/health"]["get"]["responses"])
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["Content-Type"]


async def test_two_apps_in_one_process_keep_their_own_containers(make_app: AppFactory) -> None:
    healthy, _ = make_app({})
    broken, broken_container = make_app({"HEALTH_CHECK_TIMEOUT_S": "0.2"})
    broken_container.adapters.probes.override(
        providers.List(providers.Object(FailingProbe("redis", hang=False)))
    )
    async with healthy.test_app() as a, broken.test_app() as b:
        assert (await a.test_client().get("/health?deep=1")).status_code == 200
        assert (await b.test_client().get("/health?deep=1")).status_code == 503


async def test_the_openapi_document_describes_every_route_the_app_serves(
    make_app: AppFactory,
) -> None:
    app, _ = make_app({"APP_ENV": "development"})
    async with app.test_app() as test_app:
        spec = await (await test_app.test_client().get("/openapi.json")).get_json()
    undocumented = {"/openapi.json", "/asyncapi.json", "/docs", "/api/v1/_test/", "/client/"}
    for rule in app.url_map.iter_rules():
        if rule.rule in ("/", "/admin") or any(rule.rule.startswith(u) for u in undocumented):
            continue  # the docs, the test routes, the reference client's and the console's files
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            operation = spec["paths"][path][method.lower()]
            responses = set(operation["responses"])
            assert {"500", "503"} <= responses, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415", "422"} <= responses, (method, path)
            if operation.get("security"):
                assert {"401", "429"} <= responses, (method, path)
