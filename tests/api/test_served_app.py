"""The ASGI app served by the real server process: lifespan, Socket.IO beside Quart,
graceful shutdown, and refusing to start on a bad production environment."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import socketio

from config.settings import PRODUCTION_REQUIRED
from tests.support.processes import (
    ROOT,
    free_port,
    http_call,
    http_get,
    http_json,
    running_server,
)

pytestmark = pytest.mark.api


def test_the_real_entrypoint_serves_health_on_port() -> None:
    with running_server("entrypoints", env={"APP_ENV": "development"}) as server:
        status, body = http_get(server.port, "/health")
        assert status == 200
        assert json.loads(body)["status"] == "ok"


def test_deeply_nested_json_is_invalid_json_and_the_server_keeps_serving() -> None:
    with running_server() as server:
        for body in ("[" * 30_000, "[" * 30_000 + "]" * 30_000):
            reply = http_call(
                server.port, "POST", "/api/v1/auth/login", body=body,
                headers={"Content-Type": "application/json"},
            )  # fmt: skip
            assert reply.status == 400, reply.body[:200]
            assert json.loads(reply.body)["error"]["code"] == "invalid_json"
        assert http_get(server.port, "/health")[0] == 200


def test_lifespan_reaches_quart_through_the_socketio_app() -> None:
    with running_server() as server:
        status, body = http_get(server.port, "/api/v1/_test/lifecycle")
        assert status == 200
        assert json.loads(body) == {"started": True}


async def test_socketio_is_mounted_and_refuses_a_socket_without_a_token() -> None:
    with running_server() as server:
        client = socketio.AsyncClient(reconnection=False)
        refusals: list[object] = []
        client.on("connect_error", refusals.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(server.url, transports=["websocket"], wait_timeout=5)
        await client.disconnect()
    assert refusals == [{"message": "unauthorized"}]


async def test_a_socket_with_a_valid_access_token_connects() -> None:
    with running_server(env={"APP_ENV": "development"}) as server:
        email = "sock@example.com"
        body = {"email": email, "password": "correct horse battery", "name": "Sock"}
        assert http_json(server.port, "POST", "/api/v1/auth/signup", body)[0] == 202
        code = ""
        for _ in range(100):
            status, mailbox = http_json(server.port, "GET", f"/api/v1/dev/mailbox?to={email}")
            if mailbox["messages"]:
                code = re.findall(r"\b\d{6}\b", mailbox["messages"][0]["text"])[0]
                break
            await asyncio.sleep(0.05)
        status, pair = http_json(
            server.port, "POST", "/api/v1/auth/verify-email", {"email": email, "code": code}
        )
        assert status == 200
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            server.url,
            transports=["websocket"],
            auth={"token": pair["access_token"]},
            wait_timeout=5,
        )
        assert client.connected
        await client.disconnect()

        refused = socketio.AsyncClient(reconnection=False)
        errors: list[object] = []
        refused.on("connect_error", errors.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect(
                server.url, transports=["websocket"], auth={"token": "x.y.z"}, wait_timeout=5
            )
        await refused.disconnect()
        assert errors == [{"message": "unauthorized"}]


def test_sigterm_lets_in_flight_requests_finish_then_exits() -> None:
    with running_server() as server:
        responses: list[tuple[int, bytes]] = []
        errors: list[OSError] = []

        def slow_request() -> None:
            try:
                responses.append(http_get(server.port, "/api/v1/_test/slow", timeout=10))
            except OSError as error:
                errors.append(error)

        thread = threading.Thread(target=slow_request)
        thread.start()
        time.sleep(0.3)  # the request is in flight
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        thread.join(timeout=10)
        returncode = server.process.wait(timeout=10)
        stopped_after = time.monotonic() - started
        log = server.log_text()

    assert errors == []
    [(status, body)] = responses
    assert status == 200
    assert json.loads(body) == {"status": "finished"}
    # uvicorn finishes the graceful shutdown, then re-raises SIGTERM to exit with its status.
    assert returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete." in log
    assert stopped_after < 5, "shutdown must fit Fly's kill timeout"


def test_production_without_its_variables_refuses_to_start_and_names_them() -> None:
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_REQUIRED}
    env.update({"APP_ENV": "production", "PORT": str(free_port()), "JWT_SECRET": "tiny-secret"})
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 78
    for name in PRODUCTION_REQUIRED:
        assert name in done.stderr
    assert "JWT_SECRET: must be at least 32 characters" in done.stderr
    assert "tiny-secret" not in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
