"""The served process with its telemetry sinks' endpoint refusing connections or hanging:
requests are answered, stdout stays JSON lines with the errors on it, and SIGTERM ends the
process within its bound (the SDKs' defaults would hold it 30-192 s). How much latency the
sinks add is measured in bench/observability.py, not here."""

from __future__ import annotations

import json
import signal
import time
from contextlib import ExitStack

import pytest

from tests.support.capture import CaptureServer, refusing_url
from tests.support.processes import ServerProcess, http_get, running_server

pytestmark = pytest.mark.api

SHUTDOWN_BOUND_S = 10.0  # generous: proves no hang, claims nothing about speed


def _env(base_url: str) -> dict[str, str]:
    return {
        "ROLLBAR_TOKEN": "rollbar-test-token",
        "ROLLBAR_ENDPOINT": f"{base_url}/api/1/",
        "LOGTAIL_TOKEN": "logtail-test-token",
        "LOGTAIL_HOST": base_url,
        "LOG_LEVEL": "INFO",
        "SHUTDOWN_TIMEOUT_S": "2",
    }


def _stop(server: ServerProcess) -> tuple[int, float, list[dict[str, object]]]:
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    code = server.process.wait(timeout=60)
    elapsed = time.monotonic() - started
    lines = server.log_text().splitlines()
    return code, elapsed, [json.loads(line) for line in lines if line.strip()]


def test_a_refusing_or_hanging_sink_never_holds_requests_or_the_shutdown() -> None:
    with ExitStack() as stack:
        hanging = stack.enter_context(CaptureServer(mode="hang"))
        servers = {
            "refusing": stack.enter_context(running_server(env=_env(refusing_url()))),
            "hanging": stack.enter_context(running_server(env=_env(hanging.url))),
        }
        time.sleep(1.2)  # the warm-up opens the Logtail shipper 1 s after start
        for server in servers.values():
            for _ in range(10):
                assert http_get(server.port, "/api/v1/_test/lifecycle", timeout=5)[0] == 200
            assert http_get(server.port, "/api/v1/_test/boom", timeout=5)[0] == 500
        # both sinks of the hanging one are stuck in an upload: a Logtail batch, a Rollbar item
        assert hanging.wait_for(lambda: hanging.hanging >= 2, timeout_s=15)
        time.sleep(0.5)  # the refusing one has tried both by now too

        outcomes = {name: _stop(server) for name, server in servers.items()}

    for name, (code, elapsed, lines) in outcomes.items():
        # uvicorn finishes the graceful shutdown, then re-raises SIGTERM to exit with its status
        assert code in (0, -signal.SIGTERM), name
        assert any(line["msg"] == "Application shutdown complete." for line in lines), name
        assert elapsed < SHUTDOWN_BOUND_S, f"{name}: shutdown took {elapsed:.1f} s"
        errors = [line for line in lines if line["level"] == "ERROR"]
        assert [e["route"] for e in errors] == ["/api/v1/_test/boom"], name
        assert "RuntimeError" in str(errors[0]["exc"])
        requests = [line for line in lines if line["logger"] == "flowhub.requests"]
        assert len(requests) >= 11, name  # the plain /health probe logs no line
    refusing_lines = outcomes["refusing"][2]
    warnings = " ".join(str(line["msg"]) for line in refusing_lines if line["level"] == "WARNING")
    assert "logtail upload failed" in warnings
    assert "rollbar delivery failed" in warnings
