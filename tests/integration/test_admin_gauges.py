"""The admin gauges on the real adapters: the Redis commands the app says it sent this month
match what redis-server counted for the same run (`INFO commandstats`, the commands of Lua
scripts included, as Upstash bills them), two instances sharing the month's key; the log
bytes gauge adding up across instances and a restart (`usage_days` on MongoDB); and a
disabled account is refused on MongoDB and Redis as on the memory adapters."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime

import httpx
import pytest
import redis

from adapters.redis.meter import KEY_PREFIX
from tests.api.realtime_client import PASSWORD, call, connect, sign_up
from tests.support.capture import CaptureServer
from tests.support.processes import ServerProcess, running_server
from tests.support.services import with_database

pytestmark = pytest.mark.integration

ROOT = "root-gauges@example.com"


def calls(client: redis.Redis) -> tuple[int, int]:
    """Commands redis-server executed and those it received but rejected before (a
    `CLIENT SETINFO` of a new connection on a server older than 7.2), the INFO left out."""
    stats = client.info("commandstats")
    rows = [v for k, v in stats.items() if k != "cmdstat_info"]
    return sum(int(v["calls"]) for v in rows), sum(int(v.get("rejected_calls", 0)) for v in rows)


@pytest.fixture
def redis_counter(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.ping()
    yield client
    client.close()


async def test_the_redis_gauge_is_what_redis_server_counted(
    redis_url: str,
    mongodb_uri: str,
    redis_counter: redis.Redis,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    key = KEY_PREFIX + datetime.now(UTC).strftime("%Y-%m")
    already = int(redis_counter.get(key) or 0)  # earlier tests' servers flushed there too
    before = calls(redis_counter)
    env = {
        "APP_ENV": "development",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": redis_url,
        "MONGODB_URI": with_database(mongodb_uri, f"gauges{time.monotonic_ns()}"),
        "CLUSTER_ALIVE_S": "2",
        "ADMIN_EMAILS": ROOT,
        "JWT_SECRET": "g" * 40,
        "JWT_REFRESH_SECRET": "h" * 40,
    }
    logs = tmp_path_factory.mktemp("gauges")
    with ExitStack() as stack:
        a: ServerProcess = stack.enter_context(running_server(env=env, log_dir=logs))
        b: ServerProcess = stack.enter_context(running_server(env=env, log_dir=logs))
        root = await sign_up(a.url, ROOT, "Root")
        ada_email = f"ada{time.monotonic_ns()}@example.com"
        ada = await sign_up(b.url, ada_email)
        async with httpx.AsyncClient(timeout=10) as http:
            for server in (a, b):  # failed and good logins: the account-guarding scripts
                wrong = {"email": ada_email, "password": "not the password"}
                assert (
                    await http.post(f"{server.url}/api/v1/auth/login", json=wrong)
                ).status_code == 401
                right = {"email": ada_email, "password": PASSWORD}
                assert (
                    await http.post(f"{server.url}/api/v1/auth/login", json=right)
                ).status_code == 200
        status, room = await call(
            a.url, ada, "POST", "/chat/rooms", {"name": "R", "member_ids": [root.user_id]}
        )
        assert status == 201
        assert (await call(a.url, root, "POST", f"/chat/rooms/{room['id']}/accept"))[0] == 200
        socket = await connect(b.url, root)  # the other instance: messages are published
        for n in range(5):
            sent = await call(
                a.url, ada, "POST", f"/chat/rooms/{room['id']}/messages", {"body": f"m{n}"}
            )
            assert sent[0] == 201
        await socket.wait_for("message:new")
        await socket.close()
        # b's count goes to the month's key when b stops (its shutdown flush)
        b.stop()
        status, gauges = await call(a.url, root, "GET", "/admin/gauges")
        assert status == 200, gauges
        after = calls(redis_counter)
        seen, rejected = after[0] - before[0], after[1] - before[1]

        # disabled on MongoDB: the token is refused, the right password answers 403
        status, out = await call(a.url, root, "POST", f"/admin/users/{ada.user_id}/disable")
        assert (status, out["disabled"]) == (200, True)
        assert (await call(a.url, ada, "GET", "/users/me"))[0] == 401
        async with httpx.AsyncClient(timeout=10) as http:
            right = {"email": ada_email, "password": PASSWORD}
            refused = await http.post(f"{a.url}/api/v1/auth/login", json=right)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "account_disabled")
    redis_gauge = {g["name"]: g for g in gauges["items"]}["redis_commands_month"]
    used = redis_gauge["used"] - already
    assert redis_gauge["limit"] == 500_000
    print(f"gauge {used}, redis-server {seen} executed + {rejected} rejected")
    assert abs(used - (seen + rejected)) <= 0.1 * seen, (used, seen, rejected)


async def test_the_log_gauge_adds_up_across_instances_and_restarts(
    mongodb_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Two instances ship to one Logtail (the capture server) and share one MongoDB: the gauge
    holds a stopped instance's bytes (its shutdown flush) and a restarted one's."""
    logs = tmp_path_factory.mktemp("log-gauge")
    with CaptureServer() as capture, ExitStack() as stack:
        env = {
            "APP_ENV": "development",
            "LOG_LEVEL": "INFO",
            "MONGODB_URI": with_database(mongodb_uri, f"loggauge{time.monotonic_ns()}"),
            "ADMIN_EMAILS": ROOT,
            "JWT_SECRET": "g" * 40,
            "JWT_REFRESH_SECRET": "h" * 40,
            "LOGTAIL_TOKEN": "logtail-test-token",
            "LOGTAIL_HOST": capture.logtail_host,
        }
        a: ServerProcess = stack.enter_context(running_server(env=env, log_dir=logs))
        b: ServerProcess = stack.enter_context(running_server(env=env, log_dir=logs))
        root = await sign_up(a.url, ROOT, "Root")
        await sign_up(b.url, f"ada{time.monotonic_ns()}@example.com")
        assert capture.wait_for(lambda: len(capture.batch_bytes) >= 2)
        b.stop()  # its shutdown flush: b's bytes are in today's document
        received = sum(capture.batch_bytes)
        status, gauges = await call(a.url, root, "GET", "/admin/gauges")
        assert status == 200, gauges
        first = {g["name"]: g for g in gauges["items"]}["log_bytes_today"]
        # b's flushed and a's pending: all of it reached Logtail, b's final upload excepted
        assert 0 < first["used"] <= sum(capture.batch_bytes)
        assert first["used"] >= received - max(capture.batch_bytes)
        assert first["limit"] == 100_000_000
        a.stop()
        c: ServerProcess = stack.enter_context(running_server(env=env, log_dir=logs))
        status, gauges = await call(c.url, root, "GET", "/admin/gauges")
        assert status == 200, gauges
        again = {g["name"]: g for g in gauges["items"]}["log_bytes_today"]
        assert first["used"] <= again["used"] <= sum(capture.batch_bytes)
    print(f"log gauge {first['used']} then {again['used']}, Logtail received {received}")
