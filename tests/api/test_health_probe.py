"""The plain `GET /health` is answered in front of the shedder and the frameworks
(entrypoints/health_probe.py): the same answer as the Quart route, and an answer while every
place in the app is taken."""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest

from tests.support.processes import LOOPBACK, http_get, running_server

pytestmark = pytest.mark.api

ORIGIN = "https://app.flowhub.example"


def fetch(
    port: int, method: str, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("origins", [ORIGIN, "*"])
def test_the_probe_answers_as_the_route_does(origins: str) -> None:
    with running_server(env={"CORS_ORIGINS": origins}) as server:
        for headers in ({}, {"Origin": ORIGIN}, {"Origin": "https://evil.example"}):
            # `?deep=no` reaches the Quart route, which answers it with the plain check.
            status, probe_headers, probe = fetch(server.port, "GET", "/health", headers)
            route_status, route_headers, route = fetch(
                server.port, "GET", "/health?deep=no", headers
            )
            assert status == route_status == 200
            assert (
                json.loads(probe).keys()
                == json.loads(route).keys()
                == {"status", "version", "uptime_s"}
            )
            assert json.loads(probe)["version"] == json.loads(route)["version"]
            ignored = {"date", "content-length", "x-request-id", "server"}
            assert {k: v for k, v in probe_headers.items() if k not in ignored} == {
                k: v for k, v in route_headers.items() if k not in ignored
            }
            assert len(probe_headers["x-request-id"]) == 32

        status, headers, body = fetch(server.port, "GET", "/health", {"X-Request-ID": "probe-1"})
        assert headers["x-request-id"] == "probe-1"
        status, headers, body = fetch(server.port, "HEAD", "/health", {})
        assert status == 200 and body == b""
        status, _, body = fetch(server.port, "GET", "/health?deep=1", {})
        assert status == 200 and "checks" in json.loads(body)


def test_the_probe_answers_while_every_place_in_the_app_is_taken() -> None:
    env = {"MAX_IN_FLIGHT_REQUESTS": "2", "MAX_IN_FLIGHT_PER_CLIENT": "100"}
    with running_server(env=env) as server:
        holders = [
            threading.Thread(target=http_get, args=(server.port, "/api/v1/_test/slow", 10))
            for _ in range(12)
        ]
        for holder in holders:
            holder.start()
        time.sleep(0.3)  # two hold the places, the rest wait for them
        try:
            status, _ = http_get(server.port, "/health", timeout=0.5)
            assert status == 200
        finally:
            for holder in holders:
                holder.join(timeout=15)
