"""Security events (issue 14 item 18) in a real server's log: request lines carry the client's
address as the trusted proxy reports it; wrong passwords, lockouts and every refusal by a limit
are events naming the account by id, and the address never appears in them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.realtime_client import PASSWORD, sign_up
from tests.support.processes import ServerProcess, running_server

pytestmark = pytest.mark.integration

CLIENT = "203.0.113.7"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        "APP_ENV": "development",
        "LOG_LEVEL": "INFO",
        "TRUSTED_PROXY": "fly",
        "JWT_SECRET": "s" * 40,
        "JWT_REFRESH_SECRET": "t" * 40,
    }
    with running_server(env=env, log_dir=tmp_path_factory.mktemp("secevents")) as process:
        yield process


def log_records(server: ServerProcess) -> list[dict[str, Any]]:
    return server.log_records()


def named(server: ServerProcess, event: str) -> list[dict[str, Any]]:
    return [r for r in log_records(server) if r.get("event") == event]


async def test_failed_logins_and_the_lockout_are_events_with_the_account_id(
    server: ServerProcess,
) -> None:
    email = f"guessed{time.monotonic_ns()}@example.com"
    account = await sign_up(server.url, email)
    headers = {"Fly-Client-IP": CLIENT}
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=10) as http:
        statuses = [
            (await http.post(
                "/auth/login", json={"email": email, "password": "wrong guess"}, headers=headers
            )).status_code
            for _ in range(6)
        ]  # fmt: skip
        unknown = await http.post(
            "/auth/login",
            json={"email": f"x{email}", "password": PASSWORD},
            headers=headers,
        )
    assert statuses == [401] * 5 + [429]
    assert unknown.status_code == 401

    failed = [e for e in named(server, "login_failed") if e.get("user_id") == account.user_id]
    assert len(failed) == 5
    assert any(e.get("account") == "unknown" for e in named(server, "login_failed"))
    [refused] = [e for e in named(server, "login_refused") if e.get("user_id") == account.user_id]
    assert refused["reason"] == "locked"
    limited = [e for e in named(server, "rate_limited") if e.get("route") == "/api/v1/auth/login"]
    assert limited and limited[-1]["retry_in_s"] >= 1

    lines = [r for r in log_records(server) if r.get("route") == "/api/v1/auth/login"]
    assert lines and all(r.get("client_ip") == CLIENT for r in lines if "status" in r)
    events = json.dumps([r for r in log_records(server) if "event" in r])
    assert email not in events


async def test_every_request_line_carries_the_client_address(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        config = await http.get("/api/v1/config", headers={"Fly-Client-IP": "198.51.100.9"})
        assert config.is_success
    lines = [r for r in log_records(server) if r.get("route") == "/api/v1/config"]
    assert any(r.get("client_ip") == "198.51.100.9" for r in lines)
