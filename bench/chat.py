"""Chat benchmark: N connected Socket.IO clients (websocket) in R rooms against a real server
process with Redis (Socket.IO's Redis manager, presence and typing in Redis; rooms and messages
in memory). Prints messages per second, p50/p99 delivery latency, RSS per idle connection and
Redis commands per online user per minute while idle.

Run: python -m bench.chat [--clients 500] [--rooms 50] [--idle-s 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import redis
import socketio

from bench.harness import memory
from tests.support.processes import ServerProcess, start_server
from tests.support.provision import RedisServer, app_env

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"  # noqa: S105 (bench accounts)


async def sign_up(http: httpx.AsyncClient, n: int) -> tuple[str, str]:
    email = f"bench{n}@example.com"
    ip = {"Fly-Client-IP": f"10.9.{n // 250}.{n % 250 + 1}"}
    body = {"email": email, "password": PASSWORD, "name": f"User {n}"}
    assert (await http.post("/auth/signup", json=body, headers=ip)).status_code == 202
    for _ in range(400):
        mail = (await http.get("/dev/mailbox", params={"to": email})).json()["messages"]
        if mail:
            break
        await asyncio.sleep(0.02)
    code = re.findall(r"\b\d{6}\b", mail[0]["text"])[0]
    pair = (
        await http.post("/auth/verify-email", json={"email": email, "code": code}, headers=ip)
    ).json()
    return pair["user"]["id"], pair["access_token"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def redis_calls(client: redis.Redis) -> dict[str, int]:
    """Commands as Redis counts them (scripts' inner commands included), INFO left out."""
    stats: dict[str, Any] = client.info("commandstats")
    return {k: int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info"}


async def run(clients: int, rooms: int, idle_s: float, per_sender: int) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-chat-")))
        redis_server = stack.enter_context(RedisServer(workdir))
        env = app_env(redis=redis_server)
        server = stack.enter_context(start_server(env, module="entrypoints", log_dir=workdir))
        return await _run(
            server, redis_server.port, clients=clients, rooms=rooms, idle_s=idle_s,
            per_sender=per_sender,
        )  # fmt: skip


async def _run(
    server: ServerProcess, redis_port: int, *, clients: int, rooms: int, idle_s: float,
    per_sender: int,
) -> dict[str, Any]:  # fmt: skip
    base = server.url
    sockets: list[socketio.AsyncClient] = []
    try:
        async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=30) as http:
            users: list[tuple[str, str]] = []
            for start in range(0, clients, 20):
                numbers = range(start, min(clients, start + 20))
                users += await asyncio.gather(*(sign_up(http, n) for n in numbers))
            room_ids: list[str] = []
            size = clients // rooms
            for r in range(rooms):
                members = users[r * size : (r + 1) * size]
                owner_token = members[0][1]
                body = {"name": f"Room {r}", "member_ids": [u for u, _ in members[1:]]}
                reply = await http.post(
                    "/chat/rooms", json=body, headers={"Authorization": f"Bearer {owner_token}"}
                )
                assert reply.status_code == 201, reply.text
                room_ids.append(reply.json()["id"])
                for _, token in members[1:]:  # each invitee accepts
                    joined = await http.post(
                        f"/chat/rooms/{room_ids[-1]}/accept",
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    assert joined.status_code == 200, joined.text
        rss_before = memory(server.pid).rss_kib
        latencies: list[float] = []
        received = 0

        def on_message(data: dict[str, Any]) -> None:
            nonlocal received
            received += 1
            sent_at = json.loads(data["body"])["t"]
            latencies.append(time.perf_counter() - sent_at)

        for start in range(0, clients, 50):
            batch = []
            for _, token in users[start : start + 50]:
                client = socketio.AsyncClient(reconnection=False)
                client.on("message:new", on_message)
                batch.append(client.connect(base, transports=["websocket"], auth={"token": token}))
                sockets.append(client)
            await asyncio.gather(*batch)
        await asyncio.sleep(3)
        rss_after = memory(server.pid).rss_kib
        counter = redis.Redis(port=redis_port)
        before = redis_calls(counter)
        await asyncio.sleep(idle_s)
        after = redis_calls(counter)
        by_command = {k: n - before.get(k, 0) for k, n in after.items() if n - before.get(k, 0)}
        idle_calls = by_command.get("cmdstat_evalsha", 0) + by_command.get("cmdstat_ping", 0)
        idle_calls += by_command.get("cmdstat_publish", 0)

        # throughput: one sender per room at a time, every member receives
        senders = [(sockets[r * size + k], room_ids[r]) for r in range(rooms) for k in range(2)]

        async def send(client: socketio.AsyncClient, room_id: str) -> None:
            for _ in range(per_sender):
                body = json.dumps({"t": time.perf_counter()})
                ack = await client.call("message:send", {"room_id": room_id, "body": body})
                assert ack["ok"], ack

        expected = len(senders) * per_sender * size
        started = time.perf_counter()
        await asyncio.gather(*(send(c, r) for c, r in senders))
        sent_s = time.perf_counter() - started
        deadline = time.monotonic() + 60
        while received < expected and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        delivered_s = time.perf_counter() - started
        return {
            "clients": clients,
            "rooms": rooms,
            "messages": len(senders) * per_sender,
            "messages_per_s": len(senders) * per_sender / sent_s,
            "deliveries": received,
            "deliveries_expected": expected,
            "deliveries_per_s": received / delivered_s,
            "p50_ms": percentile(latencies, 50) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000,
            "rss_idle_mib": rss_after / 1024,
            "rss_per_connection_kib": (rss_after - rss_before) / clients,
            "redis_commands_per_user_minute_idle": idle_calls / clients / (idle_s / 60),
            "redis_commands_idle": idle_calls,
            "idle_s": idle_s,
            "redis_idle_by_command": by_command,
        }
    finally:
        for client in sockets:
            await client.disconnect()
        server.stop(15)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--idle-s", type=float, default=30.0)
    parser.add_argument("--per-sender", type=int, default=10)
    args = parser.parse_args()
    result = asyncio.run(run(args.clients, args.rooms, args.idle_s, args.per_sender))
    for key, value in result.items():
        print(f"{key:40} {value:.2f}" if isinstance(value, float) else f"{key:40} {value}")


if __name__ == "__main__":
    main()
