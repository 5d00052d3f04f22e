"""Redis down (killed) or hanging (SIGSTOP) under two real server instances sharing it and
MongoDB, while signed-in reads run: health says degraded, login and codes fail closed (503 in
the contract's shape), reads that do not need Redis keep answering, chat over HTTP and over
the socket keeps storing messages, the processes survive, and everything (fan-out across the
instances included) is back within 60 s of Redis returning."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.api.realtime_client import PASSWORD, Account, Socket, call, connect, room_with, sign_up
from tests.support.faults import (
    Request,
    Traffic,
    drive,
    history,
    is_contract_error,
    wait_deep_health,
)
from tests.support.processes import ServerProcess, served
from tests.support.provision import RedisServer, app_env, start_services
from tests.support.services import with_database

pytestmark = [pytest.mark.faults]

RECOVERY_S = 60.0


def reads(account: Account, room_id: str) -> list[tuple[str, Request]]:
    """Signed-in reads that need MongoDB only (the quota is counted in the process and users
    are read from MongoDB)."""
    headers = {"Authorization": f"Bearer {account.token}"}

    def get(path: str) -> Request:
        return lambda http: http.get(f"/api/v1{path}", headers=headers)

    return [
        ("GET /users/me", get("/users/me")),
        ("GET /files", get("/files")),
        ("GET history", get(f"/chat/rooms/{room_id}/messages?limit=20")),
    ]


async def fan_out_works(sender_url: str, sender: Account, room_id: str, on: Socket, n: int) -> bool:
    body = f"probe {n}"
    status, _ = await call(sender_url, sender, "POST", f"/chat/rooms/{room_id}/messages",
                           {"body": body})  # fmt: skip
    if status != 201:
        return False
    try:
        await on.wait_for("message:new", lambda m: any(x["body"] == body for x in m), within=1.0)
    except AssertionError:
        return False
    return True


async def recovery(
    a: ServerProcess,
    b: ServerProcess,
    bob: Account,
    room_id: str,
    on_a: Socket,
    *,
    email: str,
    up_at: float,
) -> dict[str, float]:
    """Seconds from Redis' return until deep health (both instances), a password login and
    fan-out (B to a socket on A) worked again; what never did within 60 s is missing."""
    recovered: dict[str, float] = {}
    n = 0
    async with httpx.AsyncClient(timeout=10) as http:
        while len(recovered) < 3 and time.monotonic() - up_at < RECOVERY_S:
            n += 1
            if "health" not in recovered:
                answers = [(await http.get(f"{s.url}/health?deep=1")).status_code for s in (a, b)]
                if answers == [200, 200]:
                    recovered["health"] = time.monotonic() - up_at
            if "login" not in recovered:
                login = await http.post(
                    f"{a.url}/api/v1/auth/login",
                    json={"email": email, "password": PASSWORD},
                    headers={"Fly-Client-IP": f"10.9.{n % 250}.1"},
                )
                if login.status_code == 200:
                    recovered["login"] = time.monotonic() - up_at
            if "fan-out" not in recovered and await fan_out_works(b.url, bob, room_id, on_a, n):
                recovered["fan-out"] = time.monotonic() - up_at
            await asyncio.sleep(0.2)
    return recovered


@pytest.mark.parametrize("fault", ["killed", "paused"])
async def test_with_redis_down_reads_and_chat_go_on_auth_fails_closed_and_all_recovers(
    fault: str, mongodb_uri: str, mongo_db_name: str, tmp_path: Path
) -> None:
    mongo = with_database(mongodb_uri, mongo_db_name)
    with (
        start_services(RedisServer, workdir=tmp_path) as [redis],
        served(app_env(redis=redis, mongo=mongo), tmp_path, count=2) as (a, b),
    ):
        for server in (a, b):
            await wait_deep_health(server)
        stamp = time.monotonic_ns()
        ada = await sign_up(a.url, f"ada{stamp}@example.com")
        bob = await sign_up(a.url, f"bob{stamp}@example.com", "Bob")
        # the readers are other users: each user has a quota of 120 requests a minute
        readers = [await sign_up(a.url, f"reader{n}-{stamp}@example.com") for n in range(2)]
        members = [bob.user_id, *(r.user_id for r in readers)]
        room = await room_with(a.url, ada, bob, *readers, name="Outage")
        assert sorted(room["member_ids"]) == sorted([ada.user_id, *members])
        rid = room["id"]
        on_a = await connect(a.url, ada)
        on_b = await connect(b.url, bob)
        assert await fan_out_works(b.url, bob, rid, on_a, 0)

        traffic = Traffic()
        stop = asyncio.Event()
        # each reader stays under its quota of 120 a minute (counted in the process, it
        # does not fail open with Redis down): at most 4 a second, for the 15-20 s of the run
        driving = asyncio.gather(
            *(
                drive(url, reads(reader, rid), workers=3, stop=stop, traffic=traffic, pause_s=0.75)
                for url, reader in ((a.url, readers[0]), (b.url, readers[1]))
            )
        )
        acked: list[int] = []
        try:
            await asyncio.sleep(0.5)
            redis.kill() if fault == "killed" else redis.pause()
            down_at = time.monotonic()
            await asyncio.sleep(1.0)

            async with httpx.AsyncClient(base_url=a.url, timeout=30) as http:
                deep = await http.get("/health?deep=1")
                assert deep.status_code == 503
                checks = deep.json()["checks"]
                assert deep.json()["status"] == "degraded"
                assert checks["redis"]["ok"] is False
                assert checks["mongo"]["ok"] is True
                closed = {
                    "login": await http.post(
                        "/api/v1/auth/login",
                        json={"email": f"ada{stamp}@example.com", "password": PASSWORD},
                    ),
                    "otp": await http.post(
                        "/api/v1/auth/otp/request",
                        json={"email": f"ada{stamp}@example.com", "purpose": "login"},
                    ),
                    "signup": await http.post(
                        "/api/v1/auth/signup",
                        json={
                            "email": f"new{stamp}@example.com",
                            "password": PASSWORD,
                            "name": "New",
                        },
                    ),
                }
            for name, response in closed.items():
                assert response.status_code == 503, (name, response.text)
                assert is_contract_error(response.json(), "service_unavailable"), name
                assert response.headers.get("X-Request-ID")

            # chat over HTTP and over the socket still stores (the rate limit fails open);
            # the sender's own instance still delivers to its local sockets
            for n in range(3):
                status, sent = await call(a.url, ada, "POST", f"/chat/rooms/{rid}/messages",
                                          {"body": f"during {n}"})  # fmt: skip
                assert status == 201, sent
                acked.append(sent["seq"])
            ack = await on_a.ask("message:send", {"room_id": rid, "body": "socket during"})
            assert ack["ok"] is True, ack
            acked.append(ack["message"]["seq"])
            await on_a.wait_for(
                "message:new", lambda m: any(x["body"] == "socket during" for x in m)
            )
            # a new socket still connects (presence is best effort)
            late = await connect(b.url, ada)
            await late.close()

            await asyncio.sleep(max(0.0, 4.0 - (time.monotonic() - down_at)))
            up_at = time.monotonic()
            redis.restart() if fault == "killed" else redis.resume()
            down_window = traffic.between(down_at, up_at)

            recovered = await recovery(
                a, b, bob, rid, on_a, email=f"bob{stamp}@example.com", up_at=up_at
            )
        finally:
            stop.set()
            await driving
            await on_a.close()
            await on_b.close()

        for server in (a, b):
            assert server.process.poll() is None, "a server died"
        ok = Traffic.ok_share(down_window)
        print(
            f"\nredis {fault}: {len(down_window)} reads while down, {ok:.2%} ok "
            f"({dict(Traffic.statuses(down_window))}), p50 {Traffic.median_ms(down_window):.1f} "
            f"ms, p99 {Traffic.latency_ms(down_window, 0.99):.1f} ms; recovered after Redis "
            f"returned: " + ", ".join(f"{k} {v:.1f} s" for k, v in recovered.items())
        )
        assert len(down_window) >= 20
        assert ok >= 0.99, Traffic.statuses(down_window)
        assert set(recovered) == {"health", "login", "fan-out"}, f"not recovered: {recovered}"
        # every acknowledged message is in history exactly once, in order
        seqs = [int(m["seq"]) for m in await history(b.url, bob, rid)]
        assert seqs == sorted(set(seqs))
        assert set(acked) <= set(seqs)
