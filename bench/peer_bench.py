"""FlowHub against a minimal Node.js peer doing the same work (issue 21), side by side.

    make bench-peer                      # installs bench/peer with `npm ci`, then the full run
    .venv/bin/python -m bench.peer_bench --quick    # a smoke run: well under 2 minutes
    .venv/bin/python -m bench.peer_bench --reps 3 --clients 500 --idle-sockets 1000

What runs, all on 127.0.0.1 and started here (and stopped here by PID, whatever happens):
- two redis-servers, one per server, each pinned to the *other* server's core;
- FlowHub as production starts it, `python -m entrypoints` (uvicorn + uvloop + httptools,
  python-socketio with its Redis manager), pinned with `taskset -c 0`, with a real Redis for
  everything Redis holds in production (quotas, the profile cache, OTPs, presence, typing, the
  Socket.IO manager) and the log level production uses (INFO: one JSON request line each).
  Users, sessions, rooms and messages are in FlowHub's memory adapters (APP_ENV=development with
  no MONGODB_URI): the peer keeps those in memory too. So FlowHub here does less than with
  MongoDB (no Mongo round trip at login, room seq and message insert), never more;
- the peer, `node bench/peer/server.js` (Fastify 5, socket.io 4 with @socket.io/redis-adapter,
  see that file), pinned with `taskset -c 1`, with the same users and rooms (a seed file) and the
  same JWT secret, so one set of tokens serves both.

Load generators, the same for both, pinned to the core of the server *not* under test:
wrk (`-t1`, bench/peer/wrk.lua: statuses counted, tokens rotated) for `/health`, the signed-in
`/api/v1/users/me` and the login; bench/peer/fanout.js (socket.io-client, websocket transport)
for chat: N clients in rooms of 10, each message acked by the server and delivered to the 10
members; a rate is *sustained* when >= 95% of the offered messages are acked ok, >= 99% of
their deliveries arrive and delivery p99 < 1 s; the ladder of rates stops at the first that is
not. Server CPU per message: utime + stime of /proc/<pid>/stat over a fixed-rate step.

Quotas: both servers enforce FlowHub's (120 API requests a minute, 20 messages in 10 s, 30
logins a minute per address). The benchmark is about capacity, not about a quota answering, so
the driver deletes the `rate:*` keys before each run and, during the `/users/me` and chat runs,
every 0.2 s:
the quota *script* still runs on every request and message, on both servers.

Repetitions are interleaved (FlowHub, peer, FlowHub, peer, ...) and the table gives medians.
Cold start is spawn to the first 200 from `GET /health` (raw connections every 5 ms), after one
untimed priming start each (FlowHub's bytecode is cached under bench/results/.pycache, as a
production image compiles it). RSS per idle socket is (VmRSS with N idle sockets - VmRSS
before) / N, after a 3 s settle.

The machine has 2 cores shared with other work: absolute figures are noisy, the ratios within
one run are what counts. Results: stdout and bench/results/peer-bench-<timestamp>.md.

`--ab` (switch one change on and off inside one process) is NOT implemented. Design note for it:
FlowHub would read a BENCH_AB_<NAME> switch (an environment variable or a dev-only endpoint that
flips a module-level flag) at the seam of each change (the request log line, the JWT key
preparation, the engineio writer's timer, ...); the driver would then start one FlowHub process
and alternate the switch between repetitions of one row (off, on, off, on, ...), reporting the
median ratio on/off. Without FlowHub-side switches, which other work is refactoring, there is
nothing for the driver to flip; `--ab` exits with status 2 saying so. The realtime overrides
of issue 21 have such switches (entrypoints/realtime/switches.py) and their own A/B driver,
bench/fanout_ab.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import secrets
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT / "bench" / "peer"
WRK_LUA = PEER / "wrk.lua"
FANOUT = PEER / "fanout.js"
RESULTS = ROOT / "bench" / "results"
PYCACHE = RESULTS / ".pycache"
LOOPBACK = "127.0.0.1"
PASSWORD = "peer-bench-password-0123"  # noqa: S105 (the benchmark users' password)
ROOM_SIZE = 10
FLOWHUB_CORE, PEER_CORE = "0", "1"
ISSUER, AUDIENCE, ACCESS_TTL_S = "flowhub", "flowhub-api", 900

# Variables FlowHub reads: never inherited from the calling shell.
FLOWHUB_VARS = frozenset({
    "APP_ENV", "PORT", "LOG_LEVEL", "APP_VERSION", "FLY_IMAGE_REF", "MONGODB_URI", "REDIS_URL",
    "JWT_SECRET", "JWT_REFRESH_SECRET", "S3_BUCKET_NAME", "FROM_EMAIL", "ROLLBAR_TOKEN",
    "LOGTAIL_TOKEN", "CORS_ORIGINS", "MAX_UPLOAD_BYTES", "MAX_JSON_BYTES", "SHUTDOWN_TIMEOUT_S",
    "HEALTH_CHECK_TIMEOUT_S", "ROLLBAR_ENDPOINT", "LOGTAIL_HOST", "ERROR_BUDGET_PER_DAY",
    "MESSAGE_RETENTION_DAYS", "ALLOWED_CONTENT_TYPES", "MAX_IN_FLIGHT_REQUESTS", "PEER_SEED",
    "TRUSTED_PROXY", "SOCKETS_PER_USER", "SOCKETS_PER_IP", "SOCKET_EVENTS_PER_10S",
})  # fmt: skip


class BenchError(RuntimeError):
    pass


def progress(text: str) -> None:
    print(f"[peer-bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


class Child:
    """A process started here, in a session of its own, output to a log file; stopped by its
    PID (SIGTERM, then SIGKILL to its own process group)."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        env: Mapping[str, str],
        log: Path,
        *,
        stdin: int | None = subprocess.DEVNULL,
        stdout_pipe: bool = False,
    ) -> None:
        self.name = name
        self.log = log
        self._out: IO[bytes] = log.open("ab")
        self.popen = subprocess.Popen(
            list(command),
            env=dict(env),
            cwd=ROOT,
            stdin=stdin,
            stdout=subprocess.PIPE if stdout_pipe else self._out,
            stderr=self._out,
            start_new_session=True,
        )
        self.pid = self.popen.pid

    @property
    def exited(self) -> bool:
        return self.popen.poll() is not None

    def tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, grace_s: float = 8.0) -> None:
        if self.popen.stdin is not None:
            with contextlib.suppress(OSError):
                self.popen.stdin.close()
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
        if self.popen.stdout is not None:
            with contextlib.suppress(OSError):
                self.popen.stdout.close()
        self._out.close()


def pinned(core: str, command: Sequence[str]) -> list[str]:
    return ["taskset", "-c", core, *command]


def start_redis(core: str, logs: Path, stack: contextlib.ExitStack) -> int:
    import redis

    port = free_port()
    command = [
        "redis-server", "--port", str(port), "--bind", LOOPBACK, "--save", "",
        "--appendonly", "no", "--maxclients", "4000",
    ]  # fmt: skip
    child = Child(f"redis-{port}", pinned(core, command), os.environ, logs / f"redis-{port}.log")
    stack.callback(child.stop)
    client = redis.Redis(host=LOOPBACK, port=port)
    for _ in range(300):
        if child.exited:
            raise BenchError(f"redis-server exited:\n{child.tail()}")
        with contextlib.suppress(redis.ConnectionError):
            client.ping()
            client.close()
            return port
        time.sleep(0.02)
    raise BenchError("redis-server did not answer PING")


def status_line(port: int, path: str, timeout_s: float) -> str:
    request = f"GET {path} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\nConnection: close\r\n\r\n"
    with socket.create_connection((LOOPBACK, port), timeout=timeout_s) as sock:
        sock.settimeout(timeout_s)
        sock.sendall(request.encode())
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(256)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1")


def wait_health(child: Child, port: int, started: float, limit_s: float = 60.0) -> float:
    """Poll `GET /health` every 5 ms; ms from `started` (perf_counter before spawn) to a 200."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if child.exited:
            raise BenchError(f"{child.name} exited:\n{child.tail()}")
        with contextlib.suppress(OSError):
            if status_line(port, "/health", 2.0).startswith("HTTP/1.1 200"):
                return (time.perf_counter() - started) * 1000
        time.sleep(0.005)
    raise BenchError(f"{child.name} gave no 200 on /health within {limit_s:.0f} s")


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ms(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / _CLK_TCK


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for {pid}")


# --- the two servers ----------------------------------------------------------------------------


@dataclass(slots=True)
class Target:
    name: str  # "FlowHub" or "peer"
    core: str
    load_core: str  # where its load generators run: the other server's core
    redis_port: int
    env: dict[str, str]
    command: list[str]
    logs: Path
    port: int = 0
    child: Child | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        if self.child is None:
            raise BenchError(f"{self.name} is not running")
        return self.child.pid

    def spawn(self, label: str) -> tuple[Child, int, float]:
        """Start one instance on a fresh port; (child, port, ms to the first /health 200)."""
        port = free_port()
        env = {**self.env, "PORT": str(port)}
        started = time.perf_counter()
        child = Child(f"{self.name}-{label}", pinned(self.core, self.command), env,
                      self.logs / f"{self.name.lower()}-{label}.log")  # fmt: skip
        try:
            return child, port, wait_health(child, port, started)
        except BaseException:
            child.stop()
            raise

    def start(self) -> None:
        self.child, self.port, _ = self.spawn("main")

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
            self.child = None


def flowhub_target(redis_port: int, secret: str, logs: Path) -> Target:
    env = {k: v for k, v in os.environ.items() if k not in FLOWHUB_VARS}
    env = {k: v for k, v in env.items() if not k.startswith("AWS_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        PYTHONPYCACHEPREFIX=str(PYCACHE),
        APP_ENV="development",  # memory users/sessions/rooms/messages (no MONGODB_URI)
        APP_VERSION="bench",
        LOG_LEVEL="INFO",  # production's default: one request line each
        REDIS_URL=f"redis://{LOOPBACK}:{redis_port}/0",
        JWT_SECRET=secret,
        JWT_REFRESH_SECRET=secrets.token_urlsafe(36),
        CORS_ORIGINS="https://app.example.com",
        TRUSTED_PROXY="fly",  # the load generators stand for clients behind Fly's proxy
        # the idle sockets and fan-out clients come from one address, many per user: not refused
        SOCKETS_PER_USER="100000",
        SOCKETS_PER_IP="100000",
        SOCKET_EVENTS_PER_10S="100000",
    )
    command = [sys.executable, "-m", "entrypoints"]
    return Target("FlowHub", FLOWHUB_CORE, PEER_CORE, redis_port, env, command, logs)


def peer_target(redis_port: int, secret: str, seed: Path, logs: Path) -> Target:
    env = {k: v for k, v in os.environ.items() if k not in FLOWHUB_VARS}
    env.update(
        NODE_ENV="production",
        APP_VERSION="bench",
        LOG_LEVEL="info",
        REDIS_URL=f"redis://{LOOPBACK}:{redis_port}/0",
        JWT_SECRET=secret,
        PEER_SEED=str(seed),
    )
    command = ["node", str(PEER / "server.js")]
    return Target("peer", PEER_CORE, FLOWHUB_CORE, redis_port, env, command, logs)


# --- users, rooms, tokens -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    name: str
    created_at: str


async def _sign_up(http: Any, n: int) -> User:
    email = f"peer-bench-{n:05d}@example.com"
    ip = {"Fly-Client-IP": f"10.250.{n // 250}.{n % 250 + 1}"}
    body = {"email": email, "password": PASSWORD, "name": f"Bench user {n}"}
    reply = await http.post("/api/v1/auth/signup", json=body, headers=ip)
    if reply.status_code != 202:
        raise BenchError(f"signup answered {reply.status_code}: {reply.text[:200]}")
    for _ in range(500):
        mail = (await http.get("/api/v1/dev/mailbox", params={"to": email})).json()["messages"]
        if mail:
            break
        await asyncio.sleep(0.02)
    else:
        raise BenchError(f"no verification mail for {email}")
    code = re.findall(r"\b\d{6}\b", mail[0]["text"])[0]
    reply = await http.post(
        "/api/v1/auth/verify-email", json={"email": email, "code": code}, headers=ip
    )
    if reply.status_code != 200:
        raise BenchError(f"verify-email answered {reply.status_code}: {reply.text[:200]}")
    user = reply.json()["user"]
    return User(user["id"], user["email"], user["name"], user["created_at"])


async def _populate(url: str, count: int, secret: str) -> tuple[list[User], list[list[str]]]:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        users: list[User] = []
        for start in range(0, count, 8):
            batch = range(start, min(count, start + 8))
            users += await asyncio.gather(*(_sign_up(http, n) for n in batch))
        rooms: list[list[str]] = []
        for r in range(count // ROOM_SIZE):
            members = users[r * ROOM_SIZE : (r + 1) * ROOM_SIZE]
            token = mint(secret, members[0].id)
            reply = await http.post(
                "/api/v1/chat/rooms",
                json={"name": f"Room {r}", "member_ids": [m.id for m in members[1:]]},
                headers={"Authorization": f"Bearer {token}"},
            )
            if reply.status_code != 201:
                raise BenchError(f"room creation answered {reply.status_code}: {reply.text[:200]}")
            room_id = reply.json()["id"]
            for member in members[1:]:  # each invitee accepts
                joined = await http.post(
                    f"/api/v1/chat/rooms/{room_id}/accept",
                    headers={"Authorization": f"Bearer {mint(secret, member.id)}"},
                )
                if joined.status_code != 200:
                    raise BenchError(f"accepting answered {joined.status_code}: {joined.text}")
            rooms.append([room_id, *(m.id for m in members)])
    return users, rooms


def populate(target: Target, count: int, secret: str) -> tuple[list[User], list[list[str]]]:
    """Users signed up on FlowHub (argon2 hash, code by the dev mailbox, verified) and rooms of
    10; returns the users and [room_id, member ids...] per room."""
    return asyncio.run(_populate(target.url, count, secret))


def mint(secret: str, user_id: str) -> str:
    """An access token as adapters/jwt/access_tokens.py issues it."""
    import jwt

    now = int(time.time())
    claims = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": user_id, "typ": "access", "iat": now,
        "exp": now + ACCESS_TTL_S, "jti": secrets.token_urlsafe(12),
        "sid": secrets.token_hex(16),
    }  # fmt: skip
    return jwt.encode(claims, secret, algorithm="HS256")


def write_seed(path: Path, users: Sequence[User], rooms: Sequence[Sequence[str]]) -> None:
    """The peer's users and rooms: FlowHub's, with one argon2id hash of the shared password at
    FlowHub's parameters (adapters/argon2/hasher.py)."""
    from argon2 import PasswordHasher, Type

    hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32,
                            salt_len=16, type=Type.ID)  # fmt: skip
    password_hash = hasher.hash(PASSWORD)
    seed = {
        "users": [
            {
                "id": u.id,
                "email": u.email,
                "name": u.name,
                "email_verified": True,
                "created_at": u.created_at,
                "password_hash": password_hash,
            }
            for u in users
        ],
        "rooms": [{"id": r[0], "member_ids": list(r[1:])} for r in rooms],
    }
    path.write_text(json.dumps(seed))


def clear_rate_keys(redis_port: int) -> None:
    import redis

    client = redis.Redis(host=LOOPBACK, port=redis_port)
    try:
        keys = list(client.scan_iter(match="rate:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


@contextlib.contextmanager
def quota_cleared(redis_port: int, keys: Sequence[str], every_s: float = 0.2) -> Iterator[None]:
    """Delete `keys` every `every_s` on a thread while the block runs."""
    import redis

    stop = threading.Event()
    client = redis.Redis(host=LOOPBACK, port=redis_port)

    def run() -> None:
        while not stop.wait(every_s):
            with contextlib.suppress(redis.RedisError):
                for start in range(0, len(keys), 500):
                    client.delete(*keys[start : start + 500])

    thread = threading.Thread(target=run, name="quota-clear", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        client.close()


# --- wrk ----------------------------------------------------------------------------------------

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_PCT = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)", re.M)
_STATUS = re.compile(r"^bench status:(\d+) (\d+)$", re.M)
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass(frozen=True, slots=True)
class Wrk:
    rps: float
    p50_ms: float
    p99_ms: float
    statuses: Mapping[int, int]
    socket_errors: int

    @property
    def ok_per_s(self) -> float:
        total = sum(self.statuses.values())
        return self.rps * self.statuses.get(200, 0) / total if total else 0.0


def run_wrk(target: Target, path: str, duration_s: float, connections: int,
            env: Mapping[str, str]) -> Wrk:  # fmt: skip
    command = pinned(target.load_core, [
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration_s))}s", "--timeout", "5s",
        "--latency", "-s", str(WRK_LUA), f"{target.url}{path}",
    ])  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration_s + 30,
        env={**os.environ, **env}, check=False,
    )  # fmt: skip
    rps, pct = (
        _RPS.search(done.stdout),
        {m.group(1): float(m.group(2)) * _UNIT_MS[m.group(3)] for m in _PCT.finditer(done.stdout)},
    )
    if done.returncode != 0 or rps is None or "99" not in pct:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stdout[-800:]} {done.stderr}")
    errors = _SOCKET_ERRORS.search(done.stdout)
    return Wrk(
        float(rps.group(1)),
        pct["50"],
        pct["99"],
        {int(m.group(1)): int(m.group(2)) for m in _STATUS.finditer(done.stdout)},
        sum(int(n) for n in errors.groups()) if errors else 0,
    )


# --- the chat driver ----------------------------------------------------------------------------


def run_fanout(target: Target, clients_file: Path, options: Sequence[str],
               limit_s: float) -> list[dict[str, Any]]:  # fmt: skip
    command = pinned(target.load_core, [
        "node", str(FANOUT), "--url", target.url, "--clients", str(clients_file),
        "--room-size", str(ROOM_SIZE), "--pid", str(target.pid), *options,
    ])  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=limit_s, check=False)
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not events or events[-1].get("event") != "done":
        raise BenchError(f"fanout failed ({done.returncode}): {done.stdout[-800:]} {done.stderr}")
    return [e for e in events if e.get("event") == "step"]


def idle_sockets_rss(target: Target, files: Mapping[str, Path], count: int, label: str) -> float:
    """KiB of server RSS per idle socket: `count` sockets held open by fanout.js on a fresh
    instance of the server (after a warm-up of 10 sockets that come and go), so memory the
    earlier runs left in its heaps does not hide what the sockets take."""
    child, port, _ = target.spawn(label)
    try:
        url = f"http://{LOOPBACK}:{port}"
        with _idle(target, url, files["warm"], 10):
            pass
        time.sleep(1.0)
        before = rss_kib(child.pid)
        with _idle(target, url, files["idle"], count):
            time.sleep(3.0)
            after = rss_kib(child.pid)
    finally:
        child.stop()
    return (after - before) / count


@contextlib.contextmanager
def _idle(target: Target, url: str, clients_file: Path, count: int) -> Iterator[None]:
    command = pinned(target.load_core, [
        "node", str(FANOUT), "--url", url, "--clients", str(clients_file), "--mode", "idle",
    ])  # fmt: skip
    child = Child("fanout-idle", command, os.environ, target.logs / "fanout-idle.log",
                  stdin=subprocess.PIPE, stdout_pipe=True)  # fmt: skip
    try:
        line = _read_line(child, 120.0)
        if json.loads(line).get("connected") != count:
            raise BenchError(f"idle driver: {line}")
        yield
    finally:
        child.stop()
    time.sleep(1.0)  # the sockets close


def _read_line(child: Child, limit_s: float) -> str:
    stdout = child.popen.stdout
    if stdout is None:
        raise BenchError("no stdout pipe")
    end, data = time.monotonic() + limit_s, b""
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        while not data.endswith(b"\n"):
            left = end - time.monotonic()
            if left <= 0 or not selector.select(timeout=left):
                raise BenchError(f"{child.name} printed nothing in time:\n{child.tail()}")
            chunk = os.read(stdout.fileno(), 4096)
            if not chunk:
                raise BenchError(f"{child.name} exited:\n{child.tail()}")
            data += chunk
    return data.decode().strip()


# --- the run ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Config:
    reps: int
    duration_s: float
    login_s: float
    clients: int
    idle_sockets: int
    cold_starts: int
    fixed_rate: int
    ladder: tuple[int, float, int]
    step_s: float
    drain_s: float
    quick: bool


@dataclass(slots=True)
class Samples:
    values: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def add(self, row: str, target: str, value: float) -> None:
        self.values.setdefault((row, target), []).append(value)

    def median(self, row: str, target: str) -> float | None:
        got = self.values.get((row, target))
        return statistics.median(got) if got else None


def measure_rep(
    config: Config,
    targets: Sequence[Target],
    samples: Samples,
    files: Mapping[str, Path],
    *,
    chat_keys: Sequence[str],
    warm: bool,
) -> None:
    api_keys = [k.replace(":chat", ":api") for k in chat_keys]
    # 256 client addresses (X-Forwarded-For, as behind Fly's proxy): FlowHub's shedder caps the
    # places one address holds, and 64 connections from one address would mostly get 503
    behind_proxy = {"BENCH_CLIENT_ADDRESSES": "256"}
    health_env = {"BENCH_MODE": "get", **behind_proxy}
    me_env = {"BENCH_MODE": "get", "BENCH_TOKENS": str(files["tokens"]), **behind_proxy}
    for t in targets:
        if warm:
            run_wrk(t, "/health", 1, 16, health_env)
            clear_rate_keys(t.redis_port)
            with quota_cleared(t.redis_port, api_keys):
                run_wrk(t, "/api/v1/users/me", 2, 16, me_env)  # fills the profile cache
        w = run_wrk(t, "/health", config.duration_s, 64, health_env)
        samples.add("health", t.name, w.ok_per_s)
        samples.add("health_p99", t.name, w.p99_ms)
        samples.add("health_503", t.name, w.statuses.get(503, 0))
        progress(f"{t.name} /health: {w.ok_per_s:.0f}/s p99 {w.p99_ms:.1f} ms {dict(w.statuses)}")
    for t in targets:
        clear_rate_keys(t.redis_port)
        with quota_cleared(t.redis_port, api_keys):
            w = run_wrk(t, "/api/v1/users/me", config.duration_s, 64, me_env)
        samples.add("me", t.name, w.ok_per_s)
        samples.add("me_p99", t.name, w.p99_ms)
        samples.add("me_503", t.name, w.statuses.get(503, 0))
        progress(f"{t.name} /users/me: {w.ok_per_s:.0f}/s p99 {w.p99_ms:.1f} ms {dict(w.statuses)}")
    for clients, octet in ((1, 11), (8, 18)):
        for t in targets:
            clear_rate_keys(t.redis_port)
            env = {"BENCH_MODE": "login", "BENCH_EMAILS": str(files["emails"]),
                   "BENCH_PASSWORD": PASSWORD, "BENCH_IP_OCTET": str(octet)}  # fmt: skip
            w = run_wrk(t, "/api/v1/auth/login", config.login_s, clients, env)
            samples.add(f"login{clients}", t.name, w.ok_per_s)
            progress(f"{t.name} login c{clients}: {w.ok_per_s:.1f}/s {dict(w.statuses)}")
    start, factor, top = config.ladder
    options = [
        "--rates", str(config.fixed_rate), "--ladder", f"{start},{factor},{top}",
        "--step-s", str(config.step_s), "--drain-s", str(config.drain_s),
    ]  # fmt: skip
    for t in targets:
        clear_rate_keys(t.redis_port)
        with quota_cleared(t.redis_port, chat_keys):
            steps = run_fanout(t, files["chat"], options, limit_s=900)
        fixed, ladder = steps[0], steps[1:]
        if fixed["server_cpu_ms_per_message"] is not None:
            samples.add("cpu_msg", t.name, fixed["server_cpu_ms_per_message"])
        sustained = [s["acked_per_s"] for s in ladder if s["sustained"]]
        samples.add("chat", t.name, max(sustained) if sustained else 0.0)
        progress(
            f"{t.name} chat: max sustained {max(sustained) if sustained else 0:.0f} msgs/s; "
            f"at {config.fixed_rate}/s: {fixed['server_cpu_ms_per_message']} ms CPU/msg, "
            f"p99 {fixed['p99_ms']} ms, sustained {fixed['sustained']}; steps "
            + ", ".join(f"{s['rate']}{'' if s['sustained'] else '!'}" for s in ladder)
            + f"; driver CPU in the last step {ladder[-1]['client_cpu_ms'] if ladder else 0:.0f} ms"
            f" of {(config.step_s + config.drain_s) * 1000:.0f} ms at most"
        )
    for t in targets:
        per_socket = idle_sockets_rss(t, files, config.idle_sockets, f"rss{len(samples.values)}")
        samples.add("rss_socket", t.name, per_socket)
        progress(f"{t.name} RSS per idle socket: {per_socket:.1f} KiB")


def cold_starts(config: Config, targets: Sequence[Target], samples: Samples) -> None:
    for t in targets:  # priming: FlowHub's bytecode cache, the page cache
        child, _, _ = t.spawn("prime")
        child.stop()
    for n in range(config.cold_starts):
        for t in targets:
            child, _, ms = t.spawn(f"cold{n}")
            child.stop()
            samples.add("cold", t.name, ms)
    progress("cold starts: " + ", ".join(
        f"{t.name} {samples.median('cold', t.name):.0f} ms" for t in targets
    ))  # fmt: skip


# --- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    label: str
    unit: str
    higher_better: bool
    target: str
    met: Callable[[float, float, float], bool] | None  # (flowhub, peer, ratio)


NOTES = {
    "health": "same JSON; FlowHub has its load shedder in front, the peer none",
    "me": "same work: HS256 pinned claims, FlowHub's Lua HIT, GET cache:user:<id> in Redis",
    "chat": "peer: no presence or typing; seq and messages in memory in both",
    "cpu_msg": "utime+stime of the server process over the step / messages acked",
    "login1": "users and sessions in memory in both (FlowHub: no Mongo round trip here)",
    "login8": "both: 2 argon2id verifies at once (m=19 MiB, t=2, p=1)",
    "rss_socket": "websocket transport; server VmRSS delta / sockets, after 3 s",
    "cold": "spawn to first 200, after a priming start; FlowHub with cached bytecode",
    "health_p99": "wrk --latency, the /health runs",
    "me_p99": "wrk --latency, the /users/me runs",
    "health_503": "64 = FlowHub's default MAX_IN_FLIGHT_REQUESTS; the peer sheds nothing",
    "me_503": "",
}


def rows(config: Config) -> list[Row]:
    rooms = config.clients // ROOM_SIZE
    chat = f"chat fan-out, {config.clients} clients in {rooms} rooms of 10, max sustained"
    same = "no worse than ~0.96"

    def ratio_at_least(x: float) -> Callable[[float, float, float], bool]:
        return lambda f, p, r: r >= x

    def flowhub_below(x: float) -> Callable[[float, float, float], bool]:
        return lambda f, p, r: f < x

    return [
        Row("health", "`GET /health`, 64 connections", "req/s", True, ">= 0.5",
            ratio_at_least(0.5)),
        Row("me", "signed-in `GET /users/me` (JWT, quota, cached profile)", "req/s", True,
            ">= 0.35", ratio_at_least(0.35)),
        Row("chat", chat, "msgs/s", True, ">= 0.35", ratio_at_least(0.35)),
        Row("cpu_msg", f"server CPU per message at {config.fixed_rate} msgs/s", "ms", False,
            "(issue: 3x today)", None),
        Row("login1", "login (argon2-bound), 1 client", "per s", True, same, ratio_at_least(0.9)),
        Row("login8", "login (argon2-bound), 8 clients", "per s", True, same, ratio_at_least(0.9)),
        Row("rss_socket", f"RSS per idle socket ({config.idle_sockets} sockets)", "KiB", False,
            "FlowHub <= 35 KiB", lambda f, p, r: f <= 35.0),
        Row("cold", f"cold start to first `/health` ({config.cold_starts} starts)", "ms", False,
            "<= 1.3x", lambda f, p, r: r <= 1.3),
        Row("health_p99", "p99 at 64 connections, `/health`", "ms", False, "FlowHub < 150 ms",
            flowhub_below(150.0)),
        Row("me_p99", "p99 at 64 connections, `/users/me`", "ms", False, "FlowHub < 150 ms",
            flowhub_below(150.0)),
        Row("health_503", "503s at 64 connections, `/health` (per run)", "count", False, "0",
            flowhub_below(0.5)),
        Row("me_503", "503s at 64 connections, `/users/me` (per run)", "count", False, "0",
            flowhub_below(0.5)),
    ]  # fmt: skip


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit in ("count",):
        return f"{value:.0f}"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def table(config: Config, samples: Samples) -> str:
    lines = [
        "| path | FlowHub | Node peer | FlowHub/peer | target | met | notes |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows(config):
        f, p = samples.median(row.key, "FlowHub"), samples.median(row.key, "peer")
        ratio = f / p if f is not None and p else None
        shown = (
            "n/a" if ratio is None else (f"{ratio:.2f}" if row.higher_better else f"{ratio:.2f}x")
        )
        met = "n/a"
        if row.met is not None and f is not None and p is not None:
            met = "yes" if row.met(f, p, ratio if ratio is not None else float("inf")) else "no"
        lines.append(
            f"| {row.label} | {_fmt(f, row.unit)} {row.unit} | {_fmt(p, row.unit)} {row.unit} "
            f"| {shown} | {row.target} | {met} | {NOTES[row.key]} |"
        )
    return "\n".join(lines)


def config_from(args: argparse.Namespace) -> Config:
    if args.quick:
        return Config(reps=args.reps or 1, duration_s=args.duration or 3, login_s=2,
                      clients=args.clients or 50, idle_sockets=args.idle_sockets or 100,
                      cold_starts=args.cold_starts or 2, fixed_rate=args.fixed_rate or 100,
                      ladder=(200, 2.0, 6400), step_s=1.5, drain_s=1.0, quick=True)  # fmt: skip
    return Config(reps=args.reps or 3, duration_s=args.duration or 10, login_s=8,
                  clients=args.clients or 500, idle_sockets=args.idle_sockets or 1000,
                  cold_starts=args.cold_starts or 10, fixed_rate=args.fixed_rate or 300,
                  ladder=(150, 1.2, 12000), step_s=2.5, drain_s=1.5, quick=False)  # fmt: skip


def run(config: Config) -> str:
    if not (PEER / "node_modules" / "socket.io").is_dir():
        raise BenchError("bench/peer is not installed: `make bench-peer` (npm ci) first")
    RESULTS.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(36)
    samples = Samples()
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="peer-bench-")))
        logs = RESULTS / f"peer-bench-logs-{time.strftime('%Y%m%d-%H%M%S')}"
        logs.mkdir()
        flowhub = flowhub_target(start_redis(PEER_CORE, logs, stack), secret, logs)
        seed = work / "seed.json"
        peer = peer_target(start_redis(FLOWHUB_CORE, logs, stack), secret, seed, logs)
        stack.callback(flowhub.stop)
        stack.callback(peer.stop)
        flowhub.start()
        progress(
            f"FlowHub up on :{flowhub.port} (pid {flowhub.pid}); signing up {config.clients} users"
        )
        users, rooms = populate(flowhub, config.clients, secret)
        write_seed(seed, users, rooms)
        peer.start()
        progress(f"peer up on :{peer.port} (pid {peer.pid}); {len(rooms)} rooms of {ROOM_SIZE}")
        room_of = {member: r[0] for r in rooms for member in r[1:]}
        files = {n: work / f"{n}.txt" for n in ("tokens", "emails", "chat", "idle", "warm")}
        files["tokens"].write_text("\n".join(mint(secret, u.id) for u in users) + "\n")
        files["emails"].write_text("\n".join(u.email for u in users[:8]) + "\n")
        chat_clients = [{"token": mint(secret, u.id), "room_id": room_of[u.id]} for u in users]
        files["chat"].write_text(json.dumps(chat_clients))
        idle = [chat_clients[n % len(chat_clients)] for n in range(config.idle_sockets)]
        files["idle"].write_text(json.dumps(idle))
        files["warm"].write_text(json.dumps(chat_clients[:10]))
        chat_keys = [f"rate:{u.id}:chat" for u in users]
        targets = (flowhub, peer)
        for rep in range(config.reps):
            progress(f"repetition {rep + 1} of {config.reps}")
            if rep:  # tokens live 900 s: fresh ones for each repetition
                files["tokens"].write_text("\n".join(mint(secret, u.id) for u in users) + "\n")
                for entry, u in zip(chat_clients, users, strict=True):
                    entry["token"] = mint(secret, u.id)
                files["chat"].write_text(json.dumps(chat_clients))
                idle = [chat_clients[n % len(chat_clients)] for n in range(config.idle_sockets)]
                files["idle"].write_text(json.dumps(idle))
                files["warm"].write_text(json.dumps(chat_clients[:10]))
            measure_rep(config, targets, samples, files, chat_keys=chat_keys, warm=rep == 0)
        cold_starts(config, targets, samples)
    return table(config, samples)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short runs, 50 clients, 1 repetition")
    parser.add_argument("--reps", type=int, help="interleaved repetitions (3; quick: 1)")
    parser.add_argument("--duration", type=float, help="seconds per wrk run (10; quick: 3)")
    parser.add_argument("--clients", type=int, help="chat clients, rooms of 10 (500; quick: 50)")
    parser.add_argument("--idle-sockets", type=int, help="sockets for RSS per socket (1000)")
    parser.add_argument("--cold-starts", type=int, help="cold starts per server (10; quick: 2)")
    parser.add_argument("--fixed-rate", type=int, help="msgs/s of the CPU-per-message step (300)")
    parser.add_argument("--ab", action="store_true", help="NOT IMPLEMENTED (see the docstring)")
    args = parser.parse_args(argv)
    if args.ab:
        print(
            "--ab is not implemented: FlowHub has no switches to flip yet (see the docstring)",
            file=sys.stderr,
        )
        return 2
    config = config_from(args)
    if config.clients < ROOM_SIZE or config.clients % ROOM_SIZE:
        parser.error("--clients must be a multiple of 10")
    started = time.monotonic()
    try:
        result = run(config)
    except BenchError as error:
        print(f"peer-bench failed: {error}", file=sys.stderr)
        return 1
    header = (
        f"FlowHub against the Node peer, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"`python -m bench.peer_bench{' --quick' if config.quick else ''}`, "
        f"medians of {config.reps}, {time.monotonic() - started:.0f} s; FlowHub on core "
        f"{FLOWHUB_CORE}, peer on core {PEER_CORE}, {os.cpu_count()} cores shared with other work"
    )
    report = f"{header}\n\n{result}\n"
    print(report)
    out = RESULTS / f"peer-bench-{time.strftime('%Y%m%d-%H%M%S')}.md"
    out.write_text(report)
    print(f"(also in {out.relative_to(ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
