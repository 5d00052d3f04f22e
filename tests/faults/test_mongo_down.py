"""MongoDB hanging (SIGSTOP on the mongoeco process) or down (killed, then restarted empty)
under a real server process while signed-in traffic runs: every request gets an answer, the
failures are 503 `service_unavailable` in the contract's shape, latency does not grow with the
length of the outage (no pile-up of waiting requests), RSS stays bounded, and the server
recovers by itself once MongoDB is back."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.api.realtime_client import Account, call, sign_up
from tests.support.faults import Request, Traffic, drive, is_contract_error, wait_deep_health
from tests.support.processes import ServerProcess, served
from tests.support.provision import MongoecoServer, RedisServer, app_env, start_services

pytestmark = [pytest.mark.faults]

RECOVERY_S = 60.0
CLIENT_TIMEOUT_S = 15.0  # an answer later than this counts as none


def mongo_traffic(account: Account, room_id: str) -> list[tuple[str, Request]]:
    headers = {"Authorization": f"Bearer {account.token}"}
    n = iter(range(1_000_000))
    return [
        ("GET /files", lambda http: http.get("/api/v1/files", headers=headers)),
        (
            "GET history",
            lambda http: http.get(f"/api/v1/chat/rooms/{room_id}/messages", headers=headers),
        ),
        (
            "POST message",
            lambda http: http.post(
                f"/api/v1/chat/rooms/{room_id}/messages",
                json={"body": f"m {next(n)}"},
                headers=headers,
            ),
        ),
    ]


async def until_ok(server: ServerProcess, account: Account, since: float) -> float | None:
    """Seconds after `since` until GET /files answered 200 again; None if not within 60 s."""
    async with httpx.AsyncClient(base_url=server.url, timeout=CLIENT_TIMEOUT_S) as http:
        headers = {"Authorization": f"Bearer {account.token}"}
        while time.monotonic() - since < RECOVERY_S:
            try:
                if (await http.get("/api/v1/files", headers=headers)).status_code == 200:
                    return time.monotonic() - since
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    return None


async def outage(
    fault: str, hang_s: float, workers: int, tmp_path: Path
) -> tuple[list[str], list[int], float | None]:
    with (
        start_services(RedisServer, MongoecoServer, workdir=tmp_path) as [redis, mongo],
        served(app_env(redis=redis, mongo=mongo), tmp_path) as [server],
    ):
        await wait_deep_health(server)
        # several users: each has an API quota of 120 requests a minute
        count = max(10, workers // 4)
        users = [await sign_up(server.url, f"u{n}@example.com") for n in range(count)]
        rooms = []
        for user in users:
            status, room = await call(server.url, user, "POST", "/chat/rooms", {"name": "r"})
            assert status == 201
            rooms.append(room["id"])
        rss_before = server.rss_kib()
        traffic = Traffic()
        stop = asyncio.Event()
        rss: list[int] = []

        async def sample() -> None:
            while not stop.is_set():
                rss.append(server.rss_kib())
                await asyncio.sleep(0.25)

        driving = asyncio.gather(
            *(
                drive(server.url, mongo_traffic(user, room), workers=max(1, workers // len(users)),
                      stop=stop, traffic=traffic, timeout_s=CLIENT_TIMEOUT_S)
                for user, room in zip(users, rooms, strict=True)
            ),
            sample(),
        )  # fmt: skip
        try:
            await asyncio.sleep(1.0)
            mongo.pause() if fault == "paused" else mongo.kill()
            down_at = time.monotonic()
            await asyncio.sleep(hang_s)
            up_at = time.monotonic()
            mongo.resume() if fault == "paused" else mongo.start()
            # killed: MongoDB comes back empty; the tokens still verify, the lists are empty
            back_after = await until_ok(server, users[0], up_at)
            await asyncio.sleep(0.5)
        finally:
            stop.set()
            await driving
        assert server.process.poll() is None, "the server died"
        # what was asked while MongoDB was gone (some of it answered once it was back)
        window = traffic.between(down_at + 0.5, up_at)
        first, second = window[: len(window) // 2], window[len(window) // 2 :]
        lines = [
            f"mongo {fault} {hang_s:.0f} s, {workers} clients: {len(window)} requests while "
            f"down {dict(Traffic.statuses(window))}",
            f"  latency first half p50 {Traffic.median_ms(first):.0f} ms p99 "
            f"{Traffic.latency_ms(first, 0.99):.0f} ms; second half p50 "
            f"{Traffic.median_ms(second):.0f} ms p99 {Traffic.latency_ms(second, 0.99):.0f} ms",
            f"  RSS before {rss_before / 1024:.1f} MiB, peak during {max(rss) / 1024:.1f} MiB, "
            f"after {server.rss_kib() / 1024:.1f} MiB; recovered "
            + (f"{back_after:.1f} s after MongoDB returned" if back_after is not None else "NOT"),
        ]
        print("\n" + "\n".join(lines))
        assert window, "no request was sent during the outage"
        unanswered = [o for o in window if o.status is None]
        assert not unanswered, Traffic.statuses(unanswered)
        # a restarted mongoeco is empty: the rooms are gone (404) once it is back
        gone = fault == "killed"
        failed = [
            o
            for o in window
            if o.status not in (200, 201)
            and not (gone and o.status == 404 and o.started + o.seconds >= up_at)
        ]
        assert all(o.status == 503 for o in failed), Traffic.statuses(failed)
        assert all(is_contract_error(o.body, "service_unavailable") for o in failed)
        assert back_after is not None, "did not recover within 60 s of MongoDB's return"
        # bounded memory: waiting requests are capped (in-flight limit) and each gives up
        assert max(rss) - rss_before < 64 * 1024, "RSS grew by 64 MiB or more"
        return lines, rss, back_after


async def test_a_hanging_mongodb_gets_fast_503s_and_recovers(tmp_path: Path) -> None:
    await outage("paused", hang_s=8.0, workers=20, tmp_path=tmp_path)


async def test_a_killed_mongodb_gets_503s_and_recovers_when_restarted(tmp_path: Path) -> None:
    await outage("killed", hang_s=4.0, workers=8, tmp_path=tmp_path)


@pytest.mark.slow
async def test_a_long_hang_under_heavier_traffic_does_not_pile_up(tmp_path: Path) -> None:
    await outage("paused", hang_s=45.0, workers=64, tmp_path=tmp_path)
