"""Auth benchmark: login throughput, latency and memory of the real server in production's shape.

    .venv/bin/python -m bench.auth            # 10 s per level (about 45 s in all)
    .venv/bin/python -m bench.auth --quick    # 3 s per level (about 20 s in all)

What runs: production's launcher, `python -m entrypoints` (uvicorn, settings from the
environment), with APP_ENV=production against redis-server, mongoeco's MongoDB wire server and
moto (S3, SES with a verified sender), all started here as bench/foundation.py's FLOWHUB-PROD
target starts them. The server binds 0.0.0.0 as in production; the bench talks to it over
loopback.

- Users: production has no dev mailbox, so each benchmark user signs up, its verification code
  is read back from what moto's SES accepted (`/moto-api/data.json`) and posted to
  /auth/verify-email.
- Login load: wrk (`-t1 -c<N>`, bench/login.lua) with 1, 4 and 16 connections, each logging in
  repeatedly, rotating over the users; every request comes from an address of its own
  (`Fly-Client-IP: 10.<level>.x.y`, which the app takes as the client's IP), so the per-IP login
  limit (30/min) and the per-account failure lock never answer: every response is counted by
  status, and anything but a 200 with an access token is reported.
- Memory: the server's RSS idle after the start, then during the 16-connection run: VmRSS
  sampled every 50 ms and VmHWM, reset just before the run (/proc/PID/clear_refs).
- CPU: core-milliseconds per login used by the server, mongoeco and redis-server during each
  run, and the machine's busy share (wrk and this process are the rest).
- Redis: `INFO stats commandstats` before and after a known number of logins, one at a time,
  with MONITOR telling commands sent by the app from those its Lua scripts ran.
- argon2: the configured hasher (config/real.py), timed in this process before anything else
  starts: hash and verify, median of 10, and two verifies at once (the pool's size).

Every process started here is stopped at exit, Ctrl-C and errors included; the run is bounded by
`--budget` seconds. Results go to stdout and bench/results/auth-<timestamp>.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import os
import platform
import re
import resource
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx

from bench.harness import (
    Deadline,
    Memory,
    RssSampler,
    deep_health,
    fmt,
    git_revision,
    host_cpu,
    log_problems,
    markdown_table,
    memory,
    progress,
    reset_peak_rss,
    sigint_ignored,
    spawn,
    status_kib,
    tree_cpu_ms,
    wait_cpu_idle,
    wait_first_ok,
)
from bench.services import (
    RedisMonitor,
    Services,
    bench_env,
    command_calls,
    production_env,
    production_services,
)
from bench.wrk import WrkResult, run_wrk
from tests.support.moto import moto_sent_messages
from tests.support.processes import LOOPBACK, free_port
from tests.support.provision import redis_info

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LOGIN_LUA = ROOT / "bench" / "login.lua"
PY = sys.executable

SIGNUP_PATH = "/api/v1/auth/signup"
VERIFY_PATH = "/api/v1/auth/verify-email"
LOGIN_PATH = "/api/v1/auth/login"
EMAIL_FORMAT = "bench-user-%02d@example.com"  # printf-style: Python's % and Lua's string.format
PASSWORD = "bench-password-0123456789"  # noqa: S105 (the benchmark users' password)
LEVELS = (1, 4, 16)
PEAK_LEVEL = 16
PEAK_RSS_TARGET_MIB = 200.0
SETTLE_S = 2.0
SAMPLE_S = 0.05
OTHER_SHARE_MAX = 0.10  # more CPU than this to other processes during a level: a note says so

# Second octet of the client addresses of each phase: 10.<octet>.x.y, one address per request.
SIGNUP_OCTET = 255
COUNT_OCTET = 254
WARM_OCTET = 200  # the levels use their number of clients (1, 4, 16)

_CODE = re.compile(r"\b(\d{6})\b")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Config:
    quick: bool
    level_s: float
    warm_s: float
    users: int
    counted_logins: int
    hash_runs: int
    pyc_cache: bool


@dataclass(frozen=True, slots=True)
class HashTiming:
    params: str
    max_concurrent: int
    runs: int
    hash_ms: float
    verify_ms: float
    verify_cpu_ms: float  # CPU time of one verify: unlike wall time, other work does not swell it
    together_ms: float  # wall time of `max_concurrent` verifies started together

    @property
    def ceiling_per_s(self) -> float:
        """Logins per second the hasher's slots allow when hashing is all a login does."""
        return self.max_concurrent * 1000 / self.together_ms


@dataclass(frozen=True, slots=True)
class CpuUse:
    """Core-milliseconds per login during one run."""

    server_ms: float
    mongo_ms: float
    redis_ms: float
    load_ms: float  # wrk and this process (moto's thread, the RSS sampler)
    other_ms: float  # the rest of the machine's busy time: ~0 unless something else ran
    machine_busy_pct: float

    @property
    def other_share(self) -> float:
        """Share of the machine's busy time that went to processes outside the benchmark."""
        total = self.server_ms + self.mongo_ms + self.redis_ms + self.load_ms + self.other_ms
        return self.other_ms / total if total else 0.0


@dataclass(slots=True)
class Level:
    clients: int
    wrk: WrkResult | None = None
    cpu: CpuUse | None = None
    sessions_cleared: int = 0
    error: str | None = None

    @property
    def statuses(self) -> dict[int, int]:
        if self.wrk is None:
            return {}
        return {
            int(name.removeprefix("status:")): count
            for name, count in self.wrk.counters.items()
            if name.startswith("status:")
        }

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0) - (self.wrk.counters.get("bad_body", 0) if self.wrk else 0)

    @property
    def not_ok(self) -> int:
        if self.wrk is None:
            return 0
        return self.wrk.requests - self.ok + self.wrk.socket_errors


@dataclass(frozen=True, slots=True)
class RedisCount:
    logins: int
    statuses: Mapping[int, int]
    calls: Mapping[str, int]  # INFO commandstats deltas, the bench's own INFO left out
    total: int  # total_commands_processed delta, the bench's own INFO left out
    by_source: Mapping[tuple[str, str], int]  # MONITOR: ("client" | "lua", command)


@dataclass(frozen=True, slots=True)
class PeakMemory:
    before_kib: int
    sampled_peak_kib: int
    samples: int
    hwm_kib: int
    hwm_reset: bool


@dataclass(slots=True)
class Report:
    config: Config
    hashing: HashTiming | None = None
    quiet_busy_pct: float | None = None
    start_ms: float | None = None
    idle: Memory | None = None
    deep_health: str = ""
    setup_s: float | None = None
    levels: list[Level] = field(default_factory=list)
    redis: RedisCount | None = None
    peak: PeakMemory | None = None
    checkpoints: list[tuple[str, int]] = field(default_factory=list)  # (after what, VmRSS KiB)
    after_load: Memory | None = None
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        redis_bad = self.redis is not None and set(self.redis.statuses) != {200}
        return bool(self.errors) or redis_bad or any(lv.not_ok or lv.error for lv in self.levels)


# --- measurements -------------------------------------------------------------------------------


def time_hashing(runs: int) -> HashTiming:
    """The configured hasher in this process: hash and verify one at a time, then as many
    verifies at once as it has slots; one untimed hash first (thread start, first allocation)."""
    from adapters.argon2 import hasher as argon2
    from config.real import argon2_hasher

    async def measure() -> HashTiming:
        hasher = argon2_hasher()
        assert isinstance(hasher, argon2.Argon2PasswordHasher)
        try:
            stored = await hasher.hash(PASSWORD)
            hash_ms, verify_ms, verify_cpu_ms, together_ms = [], [], [], []
            for _ in range(runs):
                started = time.perf_counter()
                stored = await hasher.hash(PASSWORD)
                hash_ms.append((time.perf_counter() - started) * 1000)
            for _ in range(runs):
                started, cpu = time.perf_counter(), time.process_time()
                if not await hasher.verify(stored, PASSWORD):
                    raise BenchError("the hasher did not verify its own hash")
                verify_ms.append((time.perf_counter() - started) * 1000)
                verify_cpu_ms.append((time.process_time() - cpu) * 1000)
            for _ in range(runs):
                started = time.perf_counter()
                verifies = [hasher.verify(stored, PASSWORD) for _ in range(hasher.max_concurrent)]
                await asyncio.gather(*verifies)
                together_ms.append((time.perf_counter() - started) * 1000)
        finally:
            hasher.close()
        return HashTiming(
            params=f"argon2id m={argon2.MEMORY_COST_KIB} KiB, t={argon2.TIME_COST}, "
            f"p={argon2.PARALLELISM}",
            max_concurrent=hasher.max_concurrent,
            runs=runs,
            hash_ms=statistics.median(hash_ms),
            verify_ms=statistics.median(verify_ms),
            verify_cpu_ms=statistics.median(verify_cpu_ms),
            together_ms=statistics.median(together_ms),
        )

    return asyncio.run(measure())


def _ip(octet: int, n: int) -> str:
    return f"10.{octet}.{n // 256 % 256}.{n % 256}"


def _login_body(n: int, users: int) -> dict[str, str]:
    return {"email": EMAIL_FORMAT % (n % users), "password": PASSWORD}


def create_users(client: httpx.Client, moto_url: str, count: int, deadline: Deadline) -> None:
    """Sign up `count` users, read their codes from moto's SES and verify them."""
    emails = [EMAIL_FORMAT % i for i in range(count)]
    for i, email in enumerate(emails):
        reply = client.post(
            SIGNUP_PATH,
            json={"email": email, "password": PASSWORD, "name": f"Bench User {i}"},
            headers={"Fly-Client-IP": _ip(SIGNUP_OCTET, i)},
        )
        if reply.status_code != 202:
            raise BenchError(f"signup of {email} answered {reply.status_code}: {reply.text[:200]}")
    codes = _codes_from_moto(moto_url, emails, Deadline(deadline.bound(60.0)))
    for email in emails:
        reply = client.post(VERIFY_PATH, json={"email": email, "code": codes[email]})
        if reply.status_code != 200 or "access_token" not in reply.json():
            raise BenchError(f"verifying {email} answered {reply.status_code}: {reply.text[:200]}")


def _codes_from_moto(moto_url: str, emails: Sequence[str], deadline: Deadline) -> dict[str, str]:
    """The latest 6-digit code moto's SES accepted for each address; the mail goes out in the
    background after the signup's answer, so this polls until every address has one."""
    wanted = set(emails)
    codes: dict[str, str] = {}
    while True:
        for message in asyncio.run(moto_sent_messages(moto_url)):
            match = _CODE.search(str(message.get("subject", "")))
            to = message.get("destinations", {}).get("ToAddresses", [])
            for address in to:
                if address in wanted and match:
                    codes[address] = match.group(1)
        if len(codes) == len(wanted):
            return codes
        if deadline.expired:
            missing = sorted(wanted - set(codes))
            raise BenchError(f"moto's SES got no code for {len(missing)} users: {missing[:3]}")
        time.sleep(0.2)


def count_redis(client: httpx.Client, redis_port: int, logins: int, users: int) -> RedisCount:
    """Redis commands of `logins` logins, one at a time, from INFO (and MONITOR, for who sent
    them). Nothing else uses this Redis meanwhile: the server is otherwise idle."""
    statuses: dict[int, int] = {}
    with RedisMonitor(redis_port) as monitor:
        before = redis_info(redis_port, "stats", "commandstats")
        for n in range(logins):
            reply = client.post(
                LOGIN_PATH,
                json=_login_body(n, users),
                headers={"Fly-Client-IP": _ip(COUNT_OCTET, n)},
            )
            ok = reply.status_code == 200 and "access_token" in reply.json()
            status = reply.status_code if ok or reply.status_code != 200 else -200
            statuses[status] = statuses.get(status, 0) + 1
        after = redis_info(redis_port, "stats", "commandstats")
    calls_before, calls_after = command_calls(before), command_calls(after)
    calls = {
        name: count - calls_before.get(name, 0)
        for name, count in calls_after.items()
        if name != "info" and count - calls_before.get(name, 0)
    }
    # The first INFO is counted in the second one's figures; the second in neither.
    total = int(after["total_commands_processed"]) - int(before["total_commands_processed"]) - 1
    by_source = {key: n for key, n in monitor.counts.items() if key[1] not in ("info", "monitor")}
    return RedisCount(logins, statuses, calls, total, by_source)


def _wrk_env(config: Config, octet: int) -> dict[str, str]:
    return {
        **os.environ,
        "BENCH_EMAIL_FORMAT": EMAIL_FORMAT,
        "BENCH_USERS": str(config.users),
        "BENCH_PASSWORD": PASSWORD,
        "BENCH_IP_OCTET": str(octet),
    }


def _cpu_ms(pids: Mapping[str, int]) -> dict[str, float]:
    """CPU ms so far of each named process tree, and of this process with its reaped children
    (wrk, once run_wrk has waited for it) as "load"."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    load_s = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return {"load": load_s * 1000, **{name: tree_cpu_ms(pid) for name, pid in pids.items()}}


def clear_sessions(mongodb_uri: str) -> int:
    """Empty the `sessions` collection (every login adds a session family to it) so each level
    starts alike: mongoeco's insert costs time in proportion to the collection's size (about
    3.5 µs per stored document, so 7 ms per login at 2,000), a real MongoDB's does not."""
    from pymongo import MongoClient

    from config.real import database_name

    client: MongoClient[dict[str, object]] = MongoClient(mongodb_uri, serverSelectionTimeoutMS=5000)
    try:
        return client[database_name(mongodb_uri)]["sessions"].delete_many({}).deleted_count
    finally:
        client.close()


def run_level(
    port: int, config: Config, clients: int, pids: Mapping[str, int], sampler_pid: int | None
) -> tuple[Level, PeakMemory | None]:
    """One wrk run of `clients` connections logging in; with `sampler_pid`, the memory of that
    process during the run as well."""
    level = Level(clients)
    url = f"http://{LOOPBACK}:{port}{LOGIN_PATH}"
    env = _wrk_env(config, clients)
    peak: PeakMemory | None = None
    cpu_before, host_before = _cpu_ms(pids), host_cpu()
    if sampler_pid is None:
        level.wrk = run_wrk(url, config.level_s, connections=clients, script=LOGIN_LUA, env=env)
    else:
        before = status_kib(sampler_pid, ("VmRSS",)).get("VmRSS", 0)
        hwm_reset = reset_peak_rss(sampler_pid)
        with RssSampler(sampler_pid, SAMPLE_S) as sampler:
            level.wrk = run_wrk(url, config.level_s, connections=clients, script=LOGIN_LUA, env=env)
        hwm = status_kib(sampler_pid, ("VmHWM",)).get("VmHWM", 0)
        peak = PeakMemory(before, sampler.peak_kib, len(sampler.samples), hwm, hwm_reset)
    cpu_after, host_after = _cpu_ms(pids), host_cpu()
    logins = max(1, level.wrk.requests)
    used = {name: cpu_after[name] - cpu_before[name] for name in cpu_before}
    machine_ms = (host_after.busy - host_before.busy) * 1000 / _CLOCK_TICKS
    level.cpu = CpuUse(
        server_ms=used["server"] / logins,
        mongo_ms=used["mongoeco"] / logins,
        redis_ms=used["redis-server"] / logins,
        load_ms=used["load"] / logins,
        other_ms=max(0.0, machine_ms - sum(used.values())) / logins,
        machine_busy_pct=host_after.busy_pct_since(host_before),
    )
    return level, peak


# --- the run ------------------------------------------------------------------------------------


def settle(pid: int, deadline: Deadline, report: Report, after: str) -> None:
    """Let the server finish the logins wrk left in flight when it stopped, so they count in
    neither the next run nor the Redis count."""
    if not wait_cpu_idle(pid, Deadline(deadline.bound(10.0))):
        report.notes.append(f"the server did not go idle after {after} within 10 s")


def run(report: Report, stack: contextlib.ExitStack, logs: Path, deadline: Deadline) -> None:
    from config.settings import load_settings

    config = report.config
    before = host_cpu()
    time.sleep(1.0)
    report.quiet_busy_pct = host_cpu().busy_pct_since(before)
    if report.quiet_busy_pct > 10:
        report.notes.append(
            f"the machine was {report.quiet_busy_pct:.0f} % busy before the run: other work "
            "shares the cores, the figures are low"
        )
    progress(f"timing the argon2 hasher in-process ({config.hash_runs} runs)")
    report.hashing = time_hashing(config.hash_runs)
    progress(
        f"argon2: hash {report.hashing.hash_ms:.1f} ms, verify {report.hashing.verify_ms:.1f} ms"
    )

    progress("starting redis-server, mongoeco and moto")
    services: Services = stack.enter_context(production_services(bench_env(config.pyc_cache), logs))
    port = free_port()
    env = {**bench_env(config.pyc_cache), **production_env(services), "PORT": str(port)}
    load_settings(env)  # the production environment is complete and valid
    server, started = spawn(
        "flowhub", [PY, "-m", "entrypoints"], env=env, log_path=logs / "flowhub.log", port=port
    )
    stack.push(server)
    report.start_ms = wait_first_ok(
        server, port, "/health", started, Deadline(deadline.bound(60.0))
    ).ok_ms
    time.sleep(SETTLE_S)  # the lifespan's warm-up opens MongoDB and Redis after 1 s
    report.idle = memory(server.pid)
    progress(f"server up in {report.start_ms:.0f} ms; idle RSS {report.idle.rss_mib:.1f} MiB")
    report.deep_health = deep_health(port)
    if not report.deep_health.startswith("200"):
        report.notes.append(f"deep health check: {report.deep_health}")

    def checkpoint(after: str) -> None:
        report.checkpoints.append((after, status_kib(server.pid, ("VmRSS",)).get("VmRSS", 0)))

    checkpoint("the deep health check (opens the S3 client)")

    pids = {"server": server.pid, **services.pids}
    with httpx.Client(base_url=f"http://{LOOPBACK}:{port}", timeout=10.0) as client:
        began = time.perf_counter()
        create_users(client, services.aws_endpoint_url, config.users, deadline)
        report.setup_s = time.perf_counter() - began
        progress(f"{config.users} users signed up and verified in {report.setup_s:.1f} s")
        checkpoint(f"{config.users} signups (argon2 hashes, SES client, mail) and verifications")
        warm = run_wrk(
            f"http://{LOOPBACK}:{port}{LOGIN_PATH}",
            config.warm_s,
            connections=4,
            script=LOGIN_LUA,
            env=_wrk_env(config, WARM_OCTET),
        )
        warm_statuses = {k: v for k, v in warm.counters.items() if k != "bad_body" and v}
        progress(f"warm-up: {warm.requests_per_s:.0f} req/s, {warm_statuses}")
        checkpoint(f"the {config.warm_s:.0f} s warm-up with 4 clients ({warm.requests} logins)")
        settle(server.pid, deadline, report, "the warm-up")
        report.redis = count_redis(client, services.redis_port, config.counted_logins, config.users)
        progress(f"redis: {report.redis.total / report.redis.logins:.2f} commands per login")

    for clients in LEVELS:
        if deadline.remaining() < config.level_s + 15:
            report.notes.append(f"{clients} clients: skipped, the time budget is spent")
            continue
        peak_pid = server.pid if clients == PEAK_LEVEL else None
        settle(server.pid, deadline, report, "the previous run")
        try:
            cleared = clear_sessions(services.mongodb_uri)
            level, peak = run_level(port, config, clients, pids, peak_pid)
            level.sessions_cleared = cleared
        except Exception as error:
            report.levels.append(Level(clients, error=f"{type(error).__name__}: {error}"))
            continue
        report.levels.append(level)
        report.peak = peak or report.peak
        if level.cpu is not None and level.cpu.other_share > OTHER_SHARE_MAX:
            report.notes.append(
                f"{clients} clients: {level.cpu.other_share:.0%} of the machine's busy time went "
                "to processes outside the benchmark; its figures are low"
            )
        if clients != PEAK_LEVEL:  # the peak run has rows of its own
            checkpoint(f"the {clients}-client run")
        assert level.wrk is not None
        progress(
            f"{clients} clients: {level.wrk.requests_per_s:.1f} req/s, p50 {level.wrk.p50_ms:.0f} "
            f"ms, p99 {level.wrk.p99_ms:.0f} ms, statuses {level.statuses}"
        )
    report.after_load = memory(server.pid)


# --- report -------------------------------------------------------------------------------------


def _mib(kib: int | None) -> str:
    return "–" if kib is None else fmt(kib / 1024, 1)


def _statuses(statuses: Mapping[int, int]) -> str:
    if not statuses:
        return "–"
    return ", ".join(
        f"{count} × {'200 without a token' if code == -200 else code}"
        for code, count in sorted(statuses.items())
    )


def _level_rows(report: Report) -> list[list[str]]:
    rows = []
    for level in report.levels:
        w, cpu = level.wrk, level.cpu
        if w is None or cpu is None:
            rows.append([str(level.clients), f"FAILED: {level.error}", *["–"] * 10])
            continue
        rows.append(
            [
                str(level.clients),
                fmt(w.requests_per_s, 1),
                fmt(w.p50_ms, 1),
                fmt(w.p99_ms, 1),
                f"{level.ok:,}",
                f"{level.not_ok:,}" + (f" ({_statuses(level.statuses)})" if level.not_ok else ""),
                fmt(cpu.server_ms, 1),
                fmt(cpu.mongo_ms, 1),
                fmt(cpu.redis_ms, 2),
                fmt(cpu.load_ms, 1),
                fmt(cpu.other_ms, 1),
                fmt(cpu.machine_busy_pct),
            ]
        )
    return rows


LEVEL_HEADER = (
    "clients", "logins/s", "p50 ms", "p99 ms", "200s", "non-200", "CPU ms/login: server",
    "mongoeco", "redis", "wrk + bench", "other", "machine busy %",
)  # fmt: skip


def _sessions_note(report: Report) -> list[str]:
    cleared = [f"{lv.sessions_cleared:,} before {lv.clients}" for lv in report.levels if lv.wrk]
    if not cleared:
        return []
    return [
        "- Before each level the `sessions` collection is emptied (mongoeco's insert grows "
        f"linearly with the collection; a real MongoDB's does not): {', '.join(cleared)}."
    ]


def _hashing_lines(report: Report) -> list[str]:
    h = report.hashing
    if h is None:
        return ["(not measured)"]
    by_level = {lv.clients: lv for lv in report.levels if lv.wrk is not None}
    one, peak = by_level.get(1), by_level.get(PEAK_LEVEL)
    ceiling = h.ceiling_per_s
    rows = [
        [f"hash, one at a time (median of {h.runs})", f"{fmt(h.hash_ms, 1)} ms", ""],
        [f"verify, one at a time (median of {h.runs})", f"{fmt(h.verify_ms, 1)} ms",
         f"at most {fmt(1000 / h.verify_ms, 1)} logins/s on one slot"],
        ["verify, CPU time (median)", f"{fmt(h.verify_cpu_ms, 1)} ms",
         "the same work as CPU time: what another process on the cores cannot swell"],
        [f"{h.max_concurrent} verifies at once (the hasher's slots), wall time (median)",
         f"{fmt(h.together_ms, 1)} ms", f"hashing ceiling: {fmt(ceiling, 1)} logins/s"],
    ]  # fmt: skip
    if one is not None and one.wrk is not None:
        rest = one.wrk.p50_ms - h.verify_ms
        rows.append(
            [
                "1 client: login p50 − verify",
                f"{fmt(rest, 1)} ms",
                f"of a {fmt(one.wrk.p50_ms, 1)} ms login: everything but argon2 "
                "(HTTP, validation, 2 MongoDB calls, Redis, JWT)",
            ]
        )
    if one is not None and one.cpu is not None:
        rows.append(
            [
                "1 client: server CPU per login − verify CPU",
                f"{fmt(one.cpu.server_ms - h.verify_cpu_ms, 1)} ms",
                f"of {fmt(one.cpu.server_ms, 1)} ms: the server's own Python work per login "
                f"(mongoeco adds {fmt(one.cpu.mongo_ms, 1)} ms, redis "
                f"{fmt(one.cpu.redis_ms, 2)} ms)",
            ]
        )
    if peak is not None and peak.wrk is not None:
        rows.append(
            [
                f"{PEAK_LEVEL} clients: measured throughput",
                f"{fmt(peak.wrk.requests_per_s, 1)} logins/s",
                f"{fmt(100 * peak.wrk.requests_per_s / ceiling)} % of the hashing ceiling",
            ]
        )
    return markdown_table(("argon2 (" + h.params + ")", "value", "meaning"), rows)


def _memory_lines(report: Report) -> list[str]:
    p = report.peak
    peak_kib = max(p.sampled_peak_kib, p.hwm_kib) if p else None
    verdict = "n/a" if peak_kib is None else (
        "PASS" if peak_kib / 1024 < PEAK_RSS_TARGET_MIB else "FAIL"
    )  # fmt: skip
    rows = [
        ["idle, 2 s after the first 200 (before any login)", _mib(report.idle.rss_kib)
         if report.idle else "–", f"{report.idle.processes} process(es)" if report.idle else ""],
        *(["after " + after, _mib(kib), ""] for after, kib in report.checkpoints),
        [f"just before the {PEAK_LEVEL}-client run", _mib(p.before_kib) if p else "–", ""],
        [f"peak VmRSS sampled every {SAMPLE_S * 1000:.0f} ms during the {PEAK_LEVEL}-client run",
         _mib(p.sampled_peak_kib) if p else "–", f"{p.samples} samples" if p else ""],
        [f"VmHWM at the end of the {PEAK_LEVEL}-client run", _mib(p.hwm_kib) if p else "–",
         ("reset to the current RSS just before the run" if p.hwm_reset
          else "NOT reset (clear_refs refused): the process's lifetime peak") if p else ""],
        ["after the load", _mib(report.after_load.rss_kib) if report.after_load else "–", ""],
        [f"target: peak under {PEAK_RSS_TARGET_MIB:.0f} MiB", _mib(peak_kib), verdict],
    ]  # fmt: skip
    return markdown_table(("server RSS", "MiB", ""), rows)


def _redis_lines(report: Report) -> list[str]:
    r = report.redis
    if r is None:
        return ["(not measured)"]
    n = r.logins
    names = sorted(
        {*r.calls, *(cmd for _, cmd in r.by_source)}, key=lambda c: (-r.calls.get(c, 0), c)
    )
    rows = [
        [
            name.upper(),
            f"{r.calls.get(name, 0):,}",
            fmt(r.calls.get(name, 0) / n, 2),
            fmt(r.by_source.get(("client", name), 0) / n, 2),
            fmt(r.by_source.get(("lua", name), 0) / n, 2),
        ]
        for name in names
    ]
    sent = sum(v for (source, _), v in r.by_source.items() if source == "client")
    in_lua = sum(v for (source, _), v in r.by_source.items() if source == "lua")
    rows.append(
        [
            "**total** (total_commands_processed)",
            f"{r.total:,}",
            fmt(r.total / n, 2),
            fmt(sent / n, 2),
            fmt(in_lua / n, 2),
        ]
    )
    header = ("command", "calls", "per login", "sent by the app", "run inside Lua scripts")
    return [
        f"{n} logins one at a time ({_statuses(r.statuses)}); INFO commandstats and "
        "total_commands_processed before and after (both count the commands Lua scripts run); "
        "MONITOR splits what the app sent (round trips) from what its scripts ran.",
        "",
        *markdown_table(header, rows),
    ]


def _versions() -> str:
    found = []
    for name in ("uvicorn", "quart", "argon2-cffi", "redis", "motor", "pymongo", "odmantic"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    return ", ".join(found)


def render(report: Report, elapsed_s: float) -> str:
    c = report.config
    lines = [
        f"# Auth benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        "",
        f"- machine: {os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}",
        f"- code: {git_revision(ROOT)}; {_versions()}",
        "- server: `python -m entrypoints` (uvicorn, 1 process), APP_ENV=production on "
        "redis-server, mongoeco (MongoDB wire server, a Python process) and moto; "
        f"first 200 after {fmt(report.start_ms)} ms; deep health: {report.deep_health or '–'}",
        f"- {c.users} users signed up, codes read from moto's SES, verified: "
        f"{fmt(report.setup_s, 1)} s",
        f"- load: wrk -t1 -c<clients> -d{c.level_s:.0f}s --latency, bench/login.lua (users in "
        f"turn, one Fly-Client-IP per request), after a {c.warm_s:.0f} s warm-up with 4 clients; "
        "wrk and mongoeco share the 2 cores with the server",
        f"- run took {elapsed_s:.0f} s{' (--quick)' if c.quick else ''}",
        "",
        "## Login throughput and latency",
        "",
        *markdown_table(LEVEL_HEADER, _level_rows(report)),
        "",
        *_sessions_note(report),
        "- CPU columns: core-ms per login over the run (10 ms ticks) of the server, mongoeco, "
        "redis-server, wrk with this process (moto's thread, the RSS sampler), and the rest of "
        "the machine's busy time (`other`: near 0 unless something else ran); machine busy: "
        "share of both cores.",
        f"- machine busy before the services started: {fmt(report.quiet_busy_pct)} % (over 1 s).",
        "",
        "## Memory (server process)",
        "",
        *_memory_lines(report),
        "",
        "## Where a login's time goes: argon2 in-process",
        "",
        *_hashing_lines(report),
        "",
        "## Redis commands per login",
        "",
        *_redis_lines(report),
    ]
    problems = report.errors + report.notes
    if problems:
        lines += ["", "## Notes", "", *(f"- {p}" for p in problems)]
    return "\n".join(lines) + "\n"


# --- main ---------------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.auth", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="3 s per level instead of 10 s")
    parser.add_argument("--duration", type=float, help="seconds per level (default 10, quick 3)")
    parser.add_argument("--users", type=int, default=20, help="benchmark users (1-250)")
    parser.add_argument(
        "--budget", type=float, help="seconds the whole run may take (default 225, quick 110)"
    )
    parser.add_argument(
        "--no-pyc-cache",
        action="store_true",
        help="run the server with the environment's bytecode settings as they are",
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the logs in bench/results/logs-<time>/"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 250:
        parser.error("--users must be between 1 and 250")
    return args


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    config = Config(
        quick=args.quick,
        level_s=args.duration or (3.0 if args.quick else 10.0),
        warm_s=1.0 if args.quick else 2.0,
        users=args.users,
        counted_logins=20 if args.quick else 50,
        hash_runs=10,
        pyc_cache=not args.no_pyc_cache,
    )
    deadline = Deadline(args.budget or (110.0 if args.quick else 225.0))
    began = time.monotonic()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    report = Report(config)

    interrupted = False
    with contextlib.ExitStack() as outer:
        if args.keep_logs:
            logs = RESULTS / f"logs-auth-{stamp}"
            logs.mkdir()
        else:
            logs = Path(outer.enter_context(tempfile.TemporaryDirectory(prefix="flowhub-auth-")))
        stack = contextlib.ExitStack()  # every process still running, for the final cleanup
        try:
            run(report, stack, logs, deadline)
        except KeyboardInterrupt:
            interrupted = True
            report.errors.append("interrupted: the results are partial")
            progress("interrupted: stopping every process")
        except Exception as error:
            report.errors.append(f"{type(error).__name__}: {error}")
            progress(f"FAILED: {type(error).__name__}: {error}")
        finally:
            with sigint_ignored():
                stack.close()
            report.notes.extend(log_problems(logs / "flowhub.log"))

    text = render(report, time.monotonic() - began)
    path = RESULTS / f"auth-{stamp}.md"
    path.write_text(text)
    print(text)
    progress(f"written to {path.relative_to(ROOT)}")
    return 130 if interrupted else (1 if report.failed else 0)


if __name__ == "__main__":
    sys.exit(main())
