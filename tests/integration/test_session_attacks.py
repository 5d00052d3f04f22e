"""Attacks on sessions (issue 14 items 3, 13, 14) against real server processes on MongoDB and
Redis: a spent refresh token replayed inside the grace window, sockets that outlive their token
or their session, and a client that opens sockets or sends events without bound."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.realtime_client import PASSWORD, sign_up
from tests.support.processes import ServerProcess, running_server
from tests.support.services import with_database

pytestmark = pytest.mark.integration

SECRETS = {"JWT_SECRET": "s" * 40, "JWT_REFRESH_SECRET": "t" * 40}


def server_env(redis_url: str, mongodb_uri: str, **extra: str) -> dict[str, str]:
    return {
        "APP_ENV": "development",
        "LOG_LEVEL": "INFO",
        "REDIS_URL": redis_url,
        "MONGODB_URI": mongodb_uri,
        "CLUSTER_ALIVE_S": "2",
        **SECRETS,
        **extra,
    }


@pytest.fixture(scope="module")
def server(
    redis_url: str, mongodb_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    env = server_env(redis_url, with_database(mongodb_uri, f"sessions{time.monotonic_ns()}"))
    with running_server(env=env, log_dir=tmp_path_factory.mktemp("sessions")) as process:
        yield process


def unique_email(who: str) -> str:
    return f"{who}{time.monotonic_ns()}@example.com"


async def login(http: httpx.AsyncClient, email: str) -> dict[str, Any]:
    response = await http.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


def events_logged(server: ServerProcess, name: str) -> list[dict[str, Any]]:
    return [record for record in server.log_records() if record.get("event") == name]


# item 14: the refresh grace ---------------------------------------------------------------


async def test_a_spent_refresh_token_gets_the_grace_once_and_is_then_a_reuse(
    server: ServerProcess,
) -> None:
    email = unique_email("graced")
    account = await sign_up(server.url, email)
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=10) as http:
        pair = await login(http, email)
        spent = {"refresh_token": pair["refresh_token"]}
        rotated = await http.post("/auth/refresh", json=spent)
        assert rotated.status_code == 200, rotated.text
        late_tab = await http.post("/auth/refresh", json=spent)
        assert late_tab.status_code == 200, late_tab.text  # the party that lost the race
        # whoever else holds the spent token: inside the window, and still refused
        replays = [await http.post("/auth/refresh", json=spent) for _ in range(3)]
        assert [r.status_code for r in replays] == [401, 401, 401], [r.text for r in replays]
        assert replays[0].json()["error"]["code"] == "token_reused"
        # the reuse revoked the family: the token the grace handed out is dead too
        current = {"refresh_token": rotated.json()["refresh_token"]}
        assert (await http.post("/auth/refresh", json=current)).status_code == 401

    await asyncio.sleep(0.3)  # the log line lands
    used = [
        e
        for e in events_logged(server, "refresh_grace_used")
        if e.get("user_id") == account.user_id
    ]
    assert len(used) == 1, used
    assert email not in server.log_text()


async def test_the_grace_window_closes_after_five_seconds(server: ServerProcess) -> None:
    email = unique_email("slow")
    await sign_up(server.url, email)
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=10) as http:
        pair = await login(http, email)
        spent = {"refresh_token": pair["refresh_token"]}
        assert (await http.post("/auth/refresh", json=spent)).status_code == 200
        await asyncio.sleep(5.5)
        late = await http.post("/auth/refresh", json=spent)
        assert late.status_code == 401, late.text
        assert late.json()["error"]["code"] == "token_reused"
