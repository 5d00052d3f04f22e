"""The signed-in JSON path (`GET /api/v1/users/me`: JWT check, the API quota, the cached
profile, the request id and the request line) A/B: one FlowHub server process per arm, arms
interleaved, medians (issue 21).

    .venv/bin/python -m bench.http_ab            # 3 rounds of 5 s per arm
    .venv/bin/python -m bench.http_ab --quick    # 1 round of 2 s per arm (a smoke run)
    .venv/bin/python -m bench.http_ab --arms main,log-warning --reps 5

Each arm is FlowHub in the production shape `bench/peer_bench.py` starts (`python -m
entrypoints`, memory adapters for users and sessions, a real redis-server of its own, INFO
logs to a file), pinned to core 0; an arm differs only by environment variables (ARMS below).
A switch for a change under test is a `BENCH_AB_<NAME>` variable read once when the app is
built; none is read on a production path, and none is documented as a setting.

The load generator is this process (asyncio, keep-alive HTTP/1.1, 64 connections, a token per
connection over 16 users), pinned to core 1: wrk is not installed on this machine. It is the
same for every arm, so it does not bias the ratios; it can cap the absolute req/s.

Per round and arm: a fresh server, 1 s of warm-up, then `--seconds` of load. Measured: req/s of
200s, the server's CPU ms per request (utime + stime from /proc/<pid>/stat over the measured
window, divided by the responses), p50/p99 latency, and the non-200 count (503s from the
shedder, 429s from the quota: the quota is raised so that it never answers). The table gives
medians over the rounds and each arm's ratio to the first arm.

The machine has 2 cores shared with other work: only ratios within one run mean something.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.peer_bench import (
    LOOPBACK,
    Target,
    _sign_up,
    cpu_ms,
    flowhub_target,
    mint,
    start_redis,
)

PATH = "/api/v1/users/me"
USERS = 16
LOAD_CORE = 1

# name -> environment variables on top of the production shape
ARMS: dict[str, Mapping[str, str]] = {
    "main": {},
    # the request line off (and every INFO line): what the whole line costs
    "log-warning": {"LOG_LEVEL": "WARNING"},
    # quart-cors's own after-request hook, which converts its options on every response
    "cors-library": {"BENCH_AB_CORS": "library"},
    # the shedder off: what the FIFO gate costs, and p99 without it
    "no-shedder": {"MAX_IN_FLIGHT_REQUESTS": "0"},
}

PROFILED = (
    # uvicorn re-raises the SIGTERM that stopped it, which would end the process before atexit
    "import atexit, cProfile, runpy, signal, sys; profile = cProfile.Profile(); "
    "signal.raise_signal = lambda signum: sys.exit(0); "
    "atexit.register(lambda: profile.dump_stats({out!r})); sys.argv = ['entrypoints']; "
    "profile.enable(); runpy.run_module('entrypoints', run_name='__main__', alter_sys=True)"
)


@dataclass(slots=True)
class Run:
    ok_per_s: float
    cpu_ms_per_request: float
    p50_ms: float
    p99_ms: float
    non_200: int


def progress(text: str) -> None:
    print(f"[http-ab {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


async def _populate(url: str) -> list[str]:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        users = await asyncio.gather(*(_sign_up(http, n) for n in range(USERS)))
    return [u.id for u in users]


async def _connection(
    port: int, request: bytes, *, until: float, start_at: float, latencies: list[float],
    statuses: dict[int, int],
) -> None:  # fmt: skip
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    try:
        while (now := time.perf_counter()) < until:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            done = time.perf_counter()
            if now >= start_at:
                latencies.append(done - now)
                statuses[status] = statuses.get(status, 0) + 1
            if b"connection: close" in head.lower():
                writer.close()
                reader, writer = await asyncio.open_connection(LOOPBACK, port)
    finally:
        writer.close()


async def _load(
    port: int, tokens: Sequence[str], *, connections: int, warm_s: float, seconds: float, pid: int
) -> Run:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    begin = time.perf_counter()
    start_at, until = begin + warm_s, begin + warm_s + seconds
    requests = [
        (
            f"GET {PATH} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\n"
            f"Authorization: Bearer {tokens[n % len(tokens)]}\r\n"
            f"Fly-Client-IP: 10.251.{n // 250}.{n % 250 + 1}\r\n\r\n"
        ).encode()
        for n in range(connections)
    ]
    tasks = [
        asyncio.create_task(
            _connection(
                port, r, until=until, start_at=start_at, latencies=latencies, statuses=statuses
            )
        )
        for r in requests
    ]
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    cpu_before = cpu_ms(pid)
    await asyncio.gather(*tasks)
    cpu_after = cpu_ms(pid)
    served = sum(statuses.values())
    ok = statuses.get(200, 0)
    latencies.sort()

    def pick(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return Run(
        ok_per_s=ok / seconds,
        cpu_ms_per_request=(cpu_after - cpu_before) / max(served, 1),
        p50_ms=pick(0.50) if latencies else 0.0,
        p99_ms=pick(0.99) if latencies else 0.0,
        non_200=served - ok,
    )


def run_arm(
    target: Target, extra: Mapping[str, str], label: str, connections: int, seconds: float
) -> Run:
    target.env = {**target.env, **extra}
    child, port, _ = target.spawn(label)
    try:
        url = f"http://{LOOPBACK}:{port}"
        user_ids = asyncio.run(_populate(url))
        secret = target.env["JWT_SECRET"]
        tokens = [mint(secret, user_ids[n % USERS]) for n in range(connections)]
        return asyncio.run(
            _load(port, tokens, connections=connections, warm_s=1.0, seconds=seconds, pid=child.pid)
        )
    finally:
        child.stop()


def table(arms: Sequence[str], runs: Mapping[str, list[Run]], connections: int) -> str:
    def med(name: str, attr: str) -> float:
        return float(statistics.median(getattr(r, attr) for r in runs[name]))

    base_rps, base_cpu = med(arms[0], "ok_per_s"), med(arms[0], "cpu_ms_per_request")
    lines = [
        f"| arm (`GET {PATH}`, {connections} connections) | req/s | CPU ms/req | p50 ms "
        f"| p99 ms | non-200 | req/s ratio | CPU ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in arms:
        rps, cpu = med(name, "ok_per_s"), med(name, "cpu_ms_per_request")
        lines.append(
            f"| {name} | {rps:,.0f} | {cpu:.3f} | {med(name, 'p50_ms'):.1f} "
            f"| {med(name, 'p99_ms'):.1f} | {sum(r.non_200 for r in runs[name])} "
            f"| {rps / base_rps:.2f} | {cpu / base_cpu:.2f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--arms", default=",".join(ARMS), help=f"from {', '.join(ARMS)}")
    parser.add_argument(
        "--profile", type=Path, help="run the first arm once under cProfile, stats to this file"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.seconds = 1, 2.0
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    if args.profile is not None:
        arms, args.reps = arms[:1], 1
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        parser.error(f"unknown arm(s): {', '.join(unknown)}")
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {LOAD_CORE})
    runs: dict[str, list[Run]] = {a: [] for a in arms}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        logs = Path(tmp)
        redis_port = start_redis(str(LOAD_CORE), logs, stack)
        for rep in range(args.reps):
            order = arms if rep % 2 == 0 else arms[::-1]  # interleaved, alternating order
            for name in order:
                target = flowhub_target(redis_port, secrets.token_urlsafe(36), logs)
                if args.profile is not None:
                    # the stats are written at exit, after uvicorn's graceful stop on SIGTERM
                    target.command[-2:] = ["-c", PROFILED.format(out=str(args.profile.resolve()))]
                # the quota never answers 429 here: the benchmark is about capacity
                target.env["API_REQUESTS_PER_MINUTE"] = "100000"
                run = run_arm(target, ARMS[name], f"{name}-{rep}", args.connections, args.seconds)
                runs[name].append(run)
                progress(
                    f"round {rep + 1} {name}: {run.ok_per_s:,.0f} req/s, "
                    f"{run.cpu_ms_per_request:.3f} CPU ms/req, p99 {run.p99_ms:.1f} ms, "
                    f"non-200 {run.non_200}"
                )
    print(table(arms, runs, args.connections))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
