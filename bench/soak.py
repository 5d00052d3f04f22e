"""Chat soak: many Socket.IO clients over two real server instances sharing a redis-server and
a MongoDB (mongoeco), each of them sending and reconnecting at random for a while; then

- every acknowledged message is in its room's history exactly once, in `seq` order;
- every acknowledged message reached every member who was connected, continuously, from
  before its send started until `--slack` seconds after its ack (the fan-out's delivery time,
  across instances through Redis) — members who came or went inside that window are not
  judged (counted apart);
- the RSS of each instance after warm-up: its slope (MiB per 10 min, least squares);
- Redis: memory (INFO memory) and commands (INFO commandstats) over the run.

    python -m bench.soak [--clients 200] [--duration 600] [--room-size 10] [--seed 8]

Exit status 1 when a correctness check fails. The clients run in this process: they share the
machine's cores with the two servers, so latencies here are upper bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import socketio

from bench.harness import git_revision, markdown_table, progress
from bench.services import command_calls
from tests.api.realtime_client import Account, sign_up
from tests.support.processes import ServerProcess, served
from tests.support.provision import MongoecoServer, RedisServer, app_env, redis_info, start_services

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


@dataclass
class Sent:
    message_id: str
    room_id: str
    seq: int
    sender: int
    started: float  # monotonic, before the emit
    acked: float  # monotonic, the ack received


@dataclass
class Client:
    index: int
    account: Account
    room_id: str
    intervals: list[list[float]] = field(default_factory=list)  # [connected, disconnected]
    received: dict[str, float] = field(default_factory=dict)  # message id -> when
    order_breaks: int = 0
    reconnects: int = 0
    connect_failures: int = 0
    send_failures: Counter[str] = field(default_factory=Counter)
    instance_hits: Counter[int] = field(default_factory=Counter)

    def connected_through(self, start: float, end: float) -> bool:
        return any(a <= start and (b is None or b >= end) for a, b in self._spans())

    def touched(self, start: float, end: float) -> bool:
        """Connected at some moment of [start, end] without covering it all."""
        return any(a <= end and (b is None or b >= start) for a, b in self._spans())

    def _spans(self) -> list[tuple[float, float | None]]:
        return [(i[0], i[1] if len(i) > 1 else None) for i in self.intervals]


@dataclass
class Soak:
    args: argparse.Namespace
    servers: list[ServerProcess]
    clients: list[Client] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    rss: dict[int, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))
    started: float = 0.0
    ends: float = 0.0


async def make_accounts(soak: Soak) -> None:
    """Sign the users up (through both instances), then one room per `room_size` of them."""
    args, servers = soak.args, soak.servers
    gate = asyncio.Semaphore(8)
    stamp = uuid.uuid4().hex[:8]

    async def one(n: int) -> Account:
        async with gate:
            return await sign_up(servers[n % 2].url, f"soak{n}-{stamp}@example.com", f"U{n}")

    accounts = await asyncio.gather(*(one(n) for n in range(args.clients)))
    async with httpx.AsyncClient(base_url=f"{servers[0].url}/api/v1", timeout=30) as http:
        for first in range(0, len(accounts), args.room_size):
            members = accounts[first : first + args.room_size]
            response = await http.post(
                "/chat/rooms",
                json={"name": f"soak {first}", "member_ids": [m.user_id for m in members[1:]]},
                headers={"Authorization": f"Bearer {members[0].token}"},
            )
            assert response.status_code == 201, response.text
            room_id = response.json()["id"]
            for invitee in members[1:]:
                joined = await http.post(
                    f"/chat/rooms/{room_id}/accept",
                    headers={"Authorization": f"Bearer {invitee.token}"},
                )
                assert joined.status_code == 200, joined.text
            for offset, account in enumerate(members):
                soak.clients.append(Client(first + offset, account, room_id))


async def run_client(soak: Soak, client: Client, rng: random.Random) -> None:
    args = soak.args
    while time.monotonic() < soak.ends:
        instance = rng.randrange(len(soak.servers))
        sio = socketio.AsyncClient(reconnection=False)
        last_seq: dict[str, int] = {}

        def on_message(data: Any, last_seq: dict[str, int] = last_seq) -> None:
            if isinstance(data, dict):
                client.received.setdefault(str(data.get("id")), time.monotonic())
                room, seq = str(data.get("room_id")), int(data.get("seq", 0))
                if seq <= last_seq.get(room, 0):
                    client.order_breaks += 1
                last_seq[room] = max(seq, last_seq.get(room, 0))

        def on_disconnect(*_: Any) -> None:
            if client.intervals and len(client.intervals[-1]) == 1:
                client.intervals[-1].append(time.monotonic())

        sio.on("message:new", on_message)
        sio.on("disconnect", on_disconnect)
        try:
            await sio.connect(
                soak.servers[instance].url,
                transports=["websocket"],
                auth={"token": client.account.token},
                wait_timeout=10,
            )
        except Exception:
            client.connect_failures += 1
            await asyncio.sleep(1.0)
            continue
        client.intervals.append([time.monotonic()])
        client.instance_hits[instance] += 1
        stay = rng.expovariate(1 / args.stay_s)
        leave_at = min(soak.ends, time.monotonic() + stay)
        try:
            while time.monotonic() < leave_at and sio.connected:
                await asyncio.sleep(rng.uniform(0.5, 2 * args.send_every_s - 0.5))
                if time.monotonic() >= leave_at or not sio.connected:
                    break
                started = time.monotonic()
                try:
                    ack = await sio.call(
                        "message:send",
                        {"room_id": client.room_id, "body": f"from {client.index}",
                         "client_id": uuid.uuid4().hex},
                        timeout=10,
                    )  # fmt: skip
                except Exception as error:
                    client.send_failures[type(error).__name__] += 1
                    continue
                if isinstance(ack, dict) and ack.get("ok"):
                    m = ack["message"]
                    soak.sent.append(
                        Sent(m["id"], m["room_id"], m["seq"], client.index, started,
                             time.monotonic())
                    )  # fmt: skip
                else:
                    code = ack.get("error", {}).get("code") if isinstance(ack, dict) else "?"
                    client.send_failures[str(code)] += 1
        finally:
            # give the last sends' fan-out time before leaving: not needed for correctness
            # (members leaving inside a window are not judged), only for fewer such cases
            if time.monotonic() >= soak.ends:
                await asyncio.sleep(soak.args.slack)
            with contextlib.suppress(Exception):
                await sio.disconnect()
            on_disconnect()
        client.reconnects += 1
        await asyncio.sleep(rng.uniform(0.0, 2.0))


async def sample_rss(soak: Soak) -> None:
    while time.monotonic() < soak.ends:
        now = time.monotonic() - soak.started
        for n, server in enumerate(soak.servers):
            soak.rss[n].append((now, server.rss_kib()))
        await asyncio.sleep(5.0)


def slope_mib_per_10min(samples: Sequence[tuple[float, int]]) -> float:
    if len(samples) < 3:
        return 0.0
    xs = [t for t, _ in samples]
    ys = [kib / 1024 for _, kib in samples]
    return statistics.linear_regression(xs, ys).slope * 600


async def history(server: ServerProcess, client: Client) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        while True:
            response = await http.get(
                f"/chat/rooms/{client.room_id}/messages",
                params={"after": after, "limit": 100},
                headers={"Authorization": f"Bearer {client.account.token}"},
            )
            if response.status_code == 429:  # the reader's own API quota
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            assert response.status_code == 200, response.text
            page = response.json()["items"]
            items += page
            if len(page) < 100:
                return items
            after = page[-1]["seq"]


@dataclass
class Verdict:
    rows: list[list[str]]
    failures: list[str]


@dataclass
class HistoryCheck:
    missing: int = 0  # acknowledged but not exactly once
    duplicates: int = 0
    unordered: int = 0
    gaps: int = 0


async def check_history(soak: Soak, by_room: dict[str, list[Client]]) -> HistoryCheck:
    check = HistoryCheck()
    readers = itertools.cycle(soak.servers)
    for room_id, members in by_room.items():
        items = await history(next(readers), members[0])
        ids = Counter(m["id"] for m in items)
        seqs = [m["seq"] for m in items]
        check.duplicates += sum(c - 1 for c in ids.values() if c > 1)
        check.unordered += sum(1 for a, b in itertools.pairwise(seqs) if b <= a)
        check.gaps += sum(b - a - 1 for a, b in itertools.pairwise(seqs) if b > a + 1)
        room_acked = [s for s in soak.sent if s.room_id == room_id]
        check.missing += sum(1 for s in room_acked if ids[s.message_id] != 1)
    return check


async def verify(soak: Soak) -> Verdict:
    failures: list[str] = []
    by_room: dict[str, list[Client]] = defaultdict(list)
    for client in soak.clients:
        by_room[client.room_id].append(client)
    acked_ids = Counter(s.message_id for s in soak.sent)
    h = await check_history(soak, by_room)
    missing_history, duplicates, unordered, gaps = h.missing, h.duplicates, h.unordered, h.gaps
    expected = delivered = not_judged = 0
    undelivered: list[str] = []
    by_index = {c.index: c for c in soak.clients}
    for s in soak.sent:
        for member in by_room[s.room_id]:
            if member.connected_through(s.started, s.acked + soak.args.slack):
                expected += 1
                if s.message_id in member.received:
                    delivered += 1
                else:
                    undelivered.append(f"{s.message_id[:8]} seq {s.seq} to client {member.index}")
            elif member.touched(s.started, s.acked + soak.args.slack):
                not_judged += 1
    latencies = sorted(
        by_index[c.index].received[s.message_id] - s.acked
        for s in soak.sent
        for c in by_room[s.room_id]
        if s.message_id in c.received
    )
    for count, what in (
        (missing_history, "acknowledged messages not exactly once in history"),
        (duplicates, "duplicated messages in history"),
        (unordered, "out-of-order seq in history"),
    ):
        if count:
            failures.append(f"{count} {what}")
    if undelivered:
        failures.append(f"{len(undelivered)} deliveries missing, e.g. {undelivered[:3]}")
    if len(acked_ids) != len(soak.sent):
        failures.append("a message id was acknowledged twice")

    def pct(q: float) -> str:
        if not latencies:
            return "–"
        return f"{latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000:.0f}"

    send_failures: Counter[str] = Counter()
    for c in soak.clients:
        send_failures.update(c.send_failures)
    rows = [
        ["messages acknowledged", f"{len(soak.sent):,}"],
        ["in history exactly once", f"{len(soak.sent) - missing_history:,}"],
        ["duplicates / out of order in history", f"{duplicates} / {unordered}"],
        [
            "seq gaps in history (documented: a send that died between number and insert)",
            str(gaps),
        ],
        ["deliveries owed (member connected through send + slack)", f"{expected:,}"],
        ["deliveries received", f"{delivered:,}"],
        ["member windows not judged (came or went during a send's window)", f"{not_judged:,}"],
        ["delivery after ack, p50 / p99 ms", f"{pct(0.5)} / {pct(0.99)}"],
        [
            "order breaks seen by clients (cross-instance, documented)",
            str(sum(c.order_breaks for c in soak.clients)),
        ],
        ["connections (reconnects)", f"{sum(len(c.intervals) for c in soak.clients):,}"],
        ["connect failures", str(sum(c.connect_failures for c in soak.clients))],
        ["send failures", ", ".join(f"{k} {v}" for k, v in send_failures.items()) or "0"],
    ]
    return Verdict(rows, failures)


async def soak_run(args: argparse.Namespace, workdir: Path) -> tuple[list[str], bool]:
    with (
        start_services(RedisServer, MongoecoServer, workdir=workdir) as [redis, mongo],
        served(app_env(redis=redis, mongo=mongo), workdir, count=2) as servers,
    ):
        soak = Soak(args, servers)
        progress(f"signing up {args.clients} users")
        await make_accounts(soak)
        info_before = redis_info(redis.port, "commandstats")
        rng = random.Random(args.seed)
        soak.started = time.monotonic()
        soak.ends = soak.started + args.duration
        progress(f"soaking {args.duration:.0f} s with {len(soak.clients)} clients")
        await asyncio.gather(
            sample_rss(soak),
            *(run_client(soak, c, random.Random(rng.random())) for c in soak.clients),
        )
        elapsed = time.monotonic() - soak.started
        memory = redis_info(redis.port, "memory")
        calls_after = command_calls(redis_info(redis.port, "commandstats"))
        calls_before = command_calls(info_before)
        calls = {k: v - calls_before.get(k, 0) for k, v in calls_after.items()}
        progress("verifying history and deliveries")
        verdict = await verify(soak)
        alive = [s.process.poll() is None for s in servers]
    warm = args.duration * args.warm_up
    rss_rows = []
    for n in range(len(servers)):
        samples = soak.rss[n]
        after = [(t, k) for t, k in samples if t >= warm]
        rss_rows.append([
            "AB"[n], f"{samples[0][1] / 1024:.1f}" if samples else "–",
            f"{after[0][1] / 1024:.1f}" if after else "–",
            f"{samples[-1][1] / 1024:.1f}" if samples else "–",
            f"{max(k for _, k in samples) / 1024:.1f}" if samples else "–",
            f"{slope_mib_per_10min(after):+.2f}", "yes" if alive[n] else "NO",
        ])  # fmt: skip
    minutes = elapsed / 60
    top = sorted(calls.items(), key=lambda kv: -kv[1])[:8]
    lines = [
        f"# Chat soak ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {git_revision(ROOT)})",
        "",
        f"`python -m bench.soak --clients {args.clients} --duration {args.duration:g} "
        f"--room-size {args.room_size} --seed {args.seed}`: {len(soak.clients)} clients in "
        f"rooms of {args.room_size}, over two instances (each connection picks one at "
        f"random), sending every ~{args.send_every_s:g} s, reconnecting after ~{args.stay_s:g} s "
        f"(exponential), {elapsed:.0f} s; slack {args.slack:g} s. Clients, servers, Redis and "
        "mongoeco share one 2-core VM with other work.",
        "",
        *markdown_table(["check", "result"], verdict.rows),
        "",
        f"RSS (MiB; slope after the first {args.warm_up:.0%} of the run, least squares):",
        "",
        *markdown_table(
            ["instance", "start", "after warm-up", "end", "peak", "slope MiB/10 min", "alive"],
            rss_rows,
        ),
        "",
        f"Redis: used_memory {int(memory.get('used_memory', 0)) / 1024 / 1024:.2f} MiB, "
        f"peak {int(memory.get('used_memory_peak', 0)) / 1024 / 1024:.2f} MiB; "
        f"{sum(calls.values()):,} commands in {minutes:.1f} min "
        f"({sum(calls.values()) / minutes / max(1, len(soak.clients)):.1f} per client a minute; "
        "commands run inside scripts counted too):",
        "",
        *markdown_table(
            ["command", "calls", "per minute"],
            [[k, f"{v:,}", f"{v / minutes:,.0f}"] for k, v in top],
        ),
        "",
        "Result: " + ("PASS" if not verdict.failures and all(alive) else "FAIL"),
        *(f"- {f}" for f in verdict.failures),
    ]
    return lines, not verdict.failures and all(alive)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds")
    parser.add_argument("--room-size", type=int, default=10)
    parser.add_argument("--send-every-s", type=float, default=5.0, help="mean pause per client")
    parser.add_argument("--stay-s", type=float, default=30.0, help="mean connection length")
    parser.add_argument("--slack", type=float, default=5.0, help="delivery allowance, seconds")
    parser.add_argument("--warm-up", type=float, default=0.2, help="share of the run ignored")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the report goes")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    with tempfile.TemporaryDirectory(prefix="flowhub-soak-") as workdir:
        lines, ok = asyncio.run(soak_run(args, Path(workdir)))
    report = "\n".join(lines) + "\n"
    print(report)
    with contextlib.suppress(OSError):
        args.results.mkdir(parents=True, exist_ok=True)
        (args.results / f"soak-{datetime.now(UTC):%Y%m%d-%H%M%S}.md").write_text(report)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
