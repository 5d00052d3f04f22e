"""Free-tier budget benchmark (issue 15): a scripted day of realistic use against a real
redis-server and a real MongoDB wire server (mongoeco), counted as Upstash bills it.

Per user, the day is: a login, 20 signed-in reads, 2 uploads, a socket connected for the
chat, 30 messages in a room of 3 (each with `typing` true before it and false after it), and
about 30 minutes online (measured as idle sockets over `--idle-s`, scaled to 30 minutes).
Setup (sign-ups, rooms) is not counted: it happens once per user, not per day.

Redis commands come from `INFO commandstats`, which counts the commands a Lua script runs
(Upstash bills those one by one), diffed around each phase. The same script runs, in the
same run, against the baseline (the code before issue 15, `git archive` of BASELINE_REF,
served from a temporary directory with this checkout's environment) and against a copy of
this checkout, on one instance and on two. MongoDB's stored bytes are read back from the
`messages`, `sessions`, `files` and `users` collections: each document's BSON size plus one
entry per index (the BSON size of its key plus a record id), so the figure holds for any
storage engine before compression.

At the end of each day the app's own count is read as an administrator reads it (`GET
/api/v1/admin/gauges`, `redis_commands_month`; the other instances stopped first, so their
shutdown flushes are in it) beside redis-server's count of the whole run (setup included):
issue 20's gauges must match what this benchmark measures within 10%.

Run: python -m bench.budget [--users 30] [--idle-s 20] [--skip-baseline] [--baseline REF]
[--after REF]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import itertools
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bson
import httpx
import pymongo
import pymongo.database
import redis
import socketio

from tests.support.processes import ROOT, ServerProcess, free_port, server_env, wait_until_healthy
from tests.support.provision import MongoecoServer, RedisServer, app_env

BASELINE_REF = "2889118"  # main before issue 15
PASSWORD = "correct horse battery"  # noqa: S105 (bench accounts)
ROOM_SIZE = 3
READS = 20
UPLOADS = 2
MESSAGES = 30
MESSAGE_GAP_S = 0.6  # under the chat rate limit (20 in 10 s)
ONLINE_MIN = 30.0
DAYS_PER_MONTH = 30
FREE_COMMANDS = 500_000
FREE_MONGO_BYTES = 512 * 1024 * 1024
MONTH_USERS = 1000
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 2000  # 2 KB that sniff as image/png
COLLECTIONS = ("messages", "sessions", "files", "users")
ADMIN = "bench-admin@example.com"  # ADMIN_EMAILS of the served app: it reads the gauges
PHASES = ("login", "reads", "uploads", "connect", "chat", "disconnect")
_addresses = itertools.count(1)


def _ip() -> dict[str, str]:
    n = next(_addresses)
    return {"Fly-Client-IP": f"10.{n // 62500 % 250}.{n // 250 % 250}.{n % 250 + 1}"}


def redis_calls(client: redis.Redis) -> Counter[str]:
    """Commands as Redis counts them (scripts' inner commands included), INFO left out."""
    stats: dict[str, Any] = client.info("commandstats")
    return Counter(
        {
            k.removeprefix("cmdstat_"): int(v["calls"])
            for k, v in stats.items()
            if k != "cmdstat_info"
        }
    )


@dataclass
class User:
    email: str
    user_id: str = ""
    token: str = ""
    room_id: str = ""
    base: str = ""


@dataclass
class Measured:
    users: int
    idle_s: float
    instances: int
    phases: dict[str, Counter[str]] = field(default_factory=dict)
    idle_online: Counter[str] = field(default_factory=Counter)
    idle_alone: Counter[str] = field(default_factory=Counter)
    mongo: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # docs, doc B, index B
    app_commands: int | None = None  # the app's gauge at the day's end (None: no admin API)
    server_commands: int = 0  # redis-server's count of the whole run, just after

    def per_user(self, phase: str) -> float:
        return sum(self.phases[phase].values()) / self.users

    def idle_per_user_minute(self) -> float:
        return sum(self.idle_online.values()) / self.users / (self.idle_s / 60)

    def idle_per_instance_minute(self) -> float:
        return sum(self.idle_alone.values()) / self.instances / (self.idle_s / 60)

    def online_per_user(self) -> float:
        return self.idle_per_user_minute() * ONLINE_MIN

    def per_user_day(self) -> float:
        return sum(self.per_user(p) for p in PHASES) + self.online_per_user()

    def bytes_per(self, collection: str) -> float:
        docs, doc_bytes, index_bytes = self.mongo.get(collection, (0, 0, 0))
        return (doc_bytes + index_bytes) / docs if docs else 0.0


# --- the servers ------------------------------------------------------------------------


def exported(workdir: Path, ref: str, name: str) -> Path:
    """A commit's source tree, exported from git (nothing of it is imported here)."""
    target = workdir / name
    target.mkdir()
    archive = subprocess.run(
        ["git", "archive", ref], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def this_source(workdir: Path) -> Path:
    """A copy of this checkout's code as it is now (edits made while the benchmark runs do
    not leak into it)."""
    target = workdir / "this"
    for name in ("domain", "ports", "schemas", "adapters", "config", "entrypoints", "tests"):
        shutil.copytree(
            ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "node_modules")
        )
    return target


def start_app(source: Path, env: dict[str, str], log_dir: Path, name: str) -> ServerProcess:
    port = free_port()
    server = ServerProcess(
        [sys.executable, "-m", "entrypoints"],
        env=server_env(env, port) | {"PYTHONPATH": str(source)},
        port=port,
        cwd=source,
        log_path=log_dir / f"{name}-{port}.log",
        name=name,
    )
    try:
        wait_until_healthy(server, 30)
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def instances(
    source: Path, workdir: Path, count: int, label: str
) -> Iterator[tuple[list[ServerProcess], int, str]]:
    run_dir = workdir / f"{label}-{count}"
    run_dir.mkdir()
    with RedisServer(run_dir) as redis_server, MongoecoServer(run_dir) as mongo:
        env = app_env(redis=redis_server, mongo=mongo, ADMIN_EMAILS=ADMIN)
        servers: list[ServerProcess] = []
        try:
            for n in range(count):
                servers.append(start_app(source, env, run_dir, f"{label}{n}"))
            yield servers, redis_server.port, mongo.url
        finally:
            for server in servers:
                server.stop(15)


# --- the day ----------------------------------------------------------------------------


async def sign_up(http: httpx.AsyncClient, user: User) -> None:
    ip = _ip()
    body = {"email": user.email, "password": PASSWORD, "name": "Bench"}
    assert (await http.post("/auth/signup", json=body, headers=ip)).status_code == 202
    mail: list[dict[str, str]] = []
    for _ in range(400):
        mail = (await http.get("/dev/mailbox", params={"to": user.email})).json()["messages"]
        if mail:
            break
        await asyncio.sleep(0.02)
    code = re.findall(r"\b\d{6}\b", mail[0]["text"])[0]
    reply = await http.post(
        "/auth/verify-email", json={"email": user.email, "code": code}, headers=ip
    )
    assert reply.status_code == 200, reply.text
    user.user_id = reply.json()["user"]["id"]


async def gather_bounded(jobs: Sequence[Any], width: int = 10) -> None:
    for start in range(0, len(jobs), width):
        await asyncio.gather(*jobs[start : start + width])


async def ask(sock: socketio.AsyncClient, event: str, data: dict[str, Any]) -> None:
    """An event and its ack, retried as a client would on `service_unavailable` (the
    MongoDB wire server is slow on a busy machine; a send retried keeps its client_id)."""
    for _ in range(5):
        ack = await sock.call(event, data, timeout=30)
        if ack["ok"]:
            return
        assert ack["error"]["code"] == "service_unavailable", ack
        await asyncio.sleep(1.0)
    raise AssertionError(f"{event} kept failing: {ack}")


class Day:
    def __init__(self, servers: list[ServerProcess], redis_port: int, users: int) -> None:
        self.bases = [s.url for s in servers]
        self.counter = redis.Redis(port=redis_port)
        stamp = time.monotonic_ns()
        self.users = [User(f"b{stamp}-{n}@example.com") for n in range(users)]
        self.admin = User(ADMIN, base=self.bases[0])
        for n, user in enumerate(self.users):
            user.base = self.bases[n % len(self.bases)]  # users spread over the instances
        self.sockets: list[socketio.AsyncClient] = []
        self.http: dict[str, httpx.AsyncClient] = {}

    def client(self, user: User) -> httpx.AsyncClient:
        return self.http[user.base]

    def auth(self, user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {user.token}"}

    async def setup(self) -> None:
        for base in self.bases:
            self.http[base] = httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=30)
        await gather_bounded([sign_up(self.client(u), u) for u in [*self.users, self.admin]])
        await self.login()  # the tokens to create rooms with; the counted login comes later
        for start in range(0, len(self.users), ROOM_SIZE):
            members = self.users[start : start + ROOM_SIZE]
            owner = members[0]
            body = {"name": "Bench", "member_ids": [m.user_id for m in members[1:]]}
            reply = await self.client(owner).post(
                "/chat/rooms", json=body, headers=self.auth(owner)
            )
            assert reply.status_code == 201, reply.text
            for member in members[1:]:
                joined = await self.client(member).post(
                    f"/chat/rooms/{reply.json()['id']}/accept", headers=self.auth(member)
                )
                assert joined.status_code == 200, joined.text
            for member in members:
                member.room_id = reply.json()["id"]

    async def measure(self, run: Any) -> Counter[str]:
        before = redis_calls(self.counter)
        await run()
        await asyncio.sleep(0.5)  # what the phase set off (fan-out, timers) lands
        return redis_calls(self.counter) - before

    async def login(self) -> None:
        async def one(user: User) -> None:
            body = {"email": user.email, "password": PASSWORD}
            reply = await self.client(user).post("/auth/login", json=body, headers=_ip())
            assert reply.status_code == 200, reply.text
            user.token = reply.json()["access_token"]

        await gather_bounded([one(u) for u in self.users])

    async def reads(self) -> None:
        paths = ("/users/me", "/chat/rooms", "/files?limit=20", "/presence")

        async def one(user: User) -> None:
            for n in range(READS):
                path = paths[n % len(paths)]
                if path == "/presence":
                    path = f"/presence?user_ids={user.user_id}"
                reply = await self.client(user).get(path, headers=self.auth(user))
                assert reply.status_code == 200, reply.text

        await gather_bounded([one(u) for u in self.users])

    async def uploads(self) -> None:
        async def one(user: User) -> None:
            for n in range(UPLOADS):
                files = {"file": (f"f{n}.png", PNG, "image/png")}
                reply = await self.client(user).post("/files", files=files, headers=self.auth(user))
                assert reply.status_code == 201, reply.text

        await gather_bounded([one(u) for u in self.users])

    async def connect(self) -> None:
        async def one(user: User, client: socketio.AsyncClient) -> None:
            await client.connect(user.base, transports=["websocket"], auth={"token": user.token})

        self.sockets = [socketio.AsyncClient(reconnection=False) for _ in self.users]
        await gather_bounded([one(u, s) for u, s in zip(self.users, self.sockets, strict=True)])
        await asyncio.sleep(1.0)

    async def chat(self) -> None:
        users = list(zip(self.users, self.sockets, strict=True))

        async def one(user: User, sock: socketio.AsyncClient) -> None:
            for n in range(MESSAGES):
                typing = {"room_id": user.room_id, "is_typing": True}
                await ask(sock, "typing", typing)
                body = {"room_id": user.room_id, "body": f"message {n}", "client_id": f"c{n}"}
                await ask(sock, "message:send", body)
                typing["is_typing"] = False
                await ask(sock, "typing", typing)
                await asyncio.sleep(MESSAGE_GAP_S)

        await gather_bounded([one(u, s) for u, s in users], width=len(users))
        await asyncio.sleep(3.5)  # typing timers that would fire, fire

    async def disconnect(self) -> None:
        for sock in self.sockets:
            await sock.disconnect()
        self.sockets.clear()
        await asyncio.sleep(1.0)

    async def gauge(self, servers: list[ServerProcess]) -> tuple[int | None, int]:
        """The app's Redis command count as its admin gauge answers it, then redis-server's.
        The instances but the first stop first: their shutdown flushes are in the count."""
        for server in servers[1:]:
            server.stop(15)
        http = self.client(self.admin)
        body = {"email": ADMIN, "password": PASSWORD}
        reply = await http.post("/auth/login", json=body, headers=_ip())
        assert reply.status_code == 200, reply.text
        auth = {"Authorization": f"Bearer {reply.json()['access_token']}"}
        answer = await http.get("/admin/gauges", headers=auth)
        app: int | None = None
        if answer.status_code == 200:  # a commit before the admin API answers 404
            gauges = {g["name"]: g for g in answer.json()["items"]}
            app = int(gauges["redis_commands_month"]["used"])
        return app, sum(redis_calls(self.counter).values())

    async def close(self) -> None:
        for sock in self.sockets:
            await sock.disconnect()
        for http in self.http.values():
            await http.aclose()


async def play(
    servers: list[ServerProcess], redis_port: int, users: int, idle_s: float
) -> Measured:
    day = Day(servers, redis_port, users)
    measured = Measured(users, idle_s, len(servers))
    try:
        await day.setup()
        await asyncio.sleep(3.0)  # setup's own fan-out settles
        for phase in ("login", "reads", "uploads", "connect"):
            measured.phases[phase] = await day.measure(getattr(day, phase))
        measured.idle_online = await day.measure(lambda: asyncio.sleep(idle_s))
        measured.phases["chat"] = await day.measure(day.chat)
        measured.phases["disconnect"] = await day.measure(day.disconnect)
        await asyncio.sleep(3.0)
        measured.idle_alone = await day.measure(lambda: asyncio.sleep(idle_s))
        measured.app_commands, measured.server_commands = await day.gauge(servers)
    finally:
        await day.close()
    return measured


def mongo_bytes(url: str) -> dict[str, tuple[int, int, int]]:
    """Per collection: documents, their BSON bytes, and their index entries' bytes (each
    entry: the BSON of its key fields plus an 8-byte record id)."""
    out: dict[str, tuple[int, int, int]] = {}
    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(url, directConnection=True) as client:
        database: pymongo.database.Database[dict[str, Any]] = client.get_default_database()
        for name in COLLECTIONS:
            collection = database[name]
            indexes = [list(ix["key"].keys()) for ix in collection.list_indexes()]
            docs = doc_bytes = index_bytes = 0
            for document in collection.find():
                docs += 1
                doc_bytes += len(bson.encode(document))
                for keys in indexes:
                    if not all(k in document for k in keys) and keys != ["_id"]:
                        continue  # a partial or sparse index has no entry for it
                    index_bytes += len(bson.encode({k: document.get(k) for k in keys})) + 8
            out[name] = (docs, doc_bytes, index_bytes)
    return out


async def measure(source: Path, workdir: Path, label: str, count: int, args: Any) -> Measured:
    with instances(source, workdir, count, label) as (servers, redis_port, mongo_url):
        measured = await play(servers, redis_port, args.users, args.idle_s)
        measured.mongo = mongo_bytes(mongo_url)
        return measured


# --- the table --------------------------------------------------------------------------


def retention_days(source: Path) -> int:
    text = (source / "config" / "settings.py").read_text()
    found = re.search(r'"MESSAGE_RETENTION_DAYS", default=(\d+)', text)
    return int(found.group(1)) if found else 90


def month_bytes(m: Measured, retention: int) -> float:
    """What 1,000 daily users keep in MongoDB: a month of users, sessions and file records,
    and messages at the steady state of their retention."""
    users = MONTH_USERS * m.bytes_per("users")
    sessions = MONTH_USERS * DAYS_PER_MONTH * m.bytes_per("sessions")  # one login a day
    files = MONTH_USERS * DAYS_PER_MONTH * UPLOADS * m.bytes_per("files")
    messages = MONTH_USERS * MESSAGES * retention * m.bytes_per("messages")  # steady state
    return users + sessions + files + messages


def ratio(before: float, after: float) -> str:
    if before == 0:
        return "-" if after == 0 else "new"
    return f"{after / before:.3f}"


def row(name: str, before: float | None, after: float) -> str:
    b = "-" if before is None else f"{before:.2f}"
    r = "-" if before is None else ratio(before, after)
    return f"| {name} | {b} | {after:.2f} | {r} |"


def _month_commands(m: Measured) -> float:
    return m.per_user_day() * DAYS_PER_MONTH * MONTH_USERS


def _fit_commands(m: Measured) -> float:
    return FREE_COMMANDS / (m.per_user_day() * DAYS_PER_MONTH)


def table(title: str, before: Measured | None, after: Measured, retention: tuple[int, int]) -> str:
    def line(name: str, of: Callable[[Measured], float]) -> str:
        return row(name, None if before is None else of(before), of(after))

    def phase_of(phase: str) -> Callable[[Measured], float]:
        return lambda m: m.per_user(phase)

    def bytes_of(name: str) -> Callable[[Measured], float]:
        return lambda m: m.bytes_per(name)

    lines = [
        f"### {title} ({after.users} users, idle measured over {after.idle_s:.0f} s)",
        "",
        "| per user-day (Redis commands) | before | after | after/before |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [line(phase, phase_of(phase)) for phase in PHASES]
    lines += [
        line(f"online {ONLINE_MIN:.0f} min", Measured.online_per_user),
        line("**total per user-day**", Measured.per_user_day),
        line("per 1,000-user month", _month_commands),
        line("daily users in 500,000 a month", _fit_commands),
        line("per idle user-minute", Measured.idle_per_user_minute),
        line("per idle instance-minute (no user)", Measured.idle_per_instance_minute),
        "",
        "| MongoDB bytes (documents + index entries) | before | after | after/before |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [line(f"per {name[:-1]}", bytes_of(name)) for name in COLLECTIONS]
    mib = 1024 * 1024
    b_month = None if before is None else month_bytes(before, retention[0]) / mib
    b_fit = None if before is None else FREE_MONGO_BYTES / month_bytes(before, retention[0])
    a_fit = FREE_MONGO_BYTES / month_bytes(after, retention[1])
    lines += [
        row(
            f"1,000-user month, MiB (retention {retention[0]} -> {retention[1]} days)",
            b_month,
            month_bytes(after, retention[1]) / mib,
        ),
        row(
            "daily users in 512 MB",
            None if b_fit is None else b_fit * MONTH_USERS,
            a_fit * MONTH_USERS,
        ),
    ]
    commands: Counter[str] = Counter()
    for phase in PHASES:
        commands += after.phases[phase]
    app, server = after.app_commands, after.server_commands
    share = "-" if app is None or not server else f"{app / server:.3f}"
    lines += [
        "",
        "| Redis commands of the whole run (after) | app's gauge | redis-server | gauge/server |",
        "| --- | ---: | ---: | ---: |",
        f"| `GET /admin/gauges` `redis_commands_month` vs `INFO commandstats` | "
        f"{'-' if app is None else app} | {server} | {share} |",
    ]
    lines += ["", "after, by command: " + ", ".join(f"{k} {v}" for k, v in commands.most_common())]
    return "\n".join(lines)


async def run(args: Any) -> str:
    out: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-budget-") as tmp:
        workdir = Path(tmp)
        baseline = None if args.skip_baseline else exported(workdir, args.baseline, "baseline")
        this = this_source(workdir) if args.after is None else exported(workdir, args.after, "this")
        retention = (retention_days(baseline or this), retention_days(this))
        for count in (1, 2):
            before = (
                None
                if baseline is None
                else await measure(baseline, workdir, "before", count, args)
            )
            after = await measure(this, workdir, "after", count, args)
            title = f"{count} instance{'s' if count > 1 else ''}"
            out.append(table(title, before, after, retention))
            print(out[-1], "\n", flush=True)
    return "\n\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=30, help="a multiple of 3 (rooms of 3)")
    parser.add_argument("--idle-s", type=float, default=20.0)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--baseline", default=BASELINE_REF, help="the commit measured before")
    parser.add_argument("--after", help="a commit to measure after (default: this checkout)")
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
