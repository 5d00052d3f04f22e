"""HTTP load against a real server process (redis-server and mongoeco of its own; uvicorn as
deployed): `GET /health` and a signed-in read (`GET /api/v1/files`: token check, the per-user
quota in Redis, a MongoDB query) at

1. peak: wrk with 16 connections (as the README's foundation benchmark);
2. half of that peak, rate-limited (wrk's `delay()`): p99 against p50 (target: within 5x);
3. above peak: many more connections than the server can serve at once, with the in-flight
   limit (MAX_IN_FLIGHT_REQUESTS, default 64: beyond it a request waits at most 1 s for a
   place, then gets 503) and without it (0): the limited server keeps the latency of what it
   serves bounded; the unlimited one serves everything ever later (latency = connections /
   throughput).

    python -m bench.load [--duration 10] [--over 256,1024] [--limit 64]

Prints a table; also in `bench/results/load-<time>.md`. The machine's load during the run
matters (wrk shares the cores with the server): compare figures taken on the same machine in
the same run only.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex

import httpx

from adapters.jwt.access_tokens import JwtAccessTokenCodec
from bench.harness import fmt, git_revision, markdown_table, progress
from bench.wrk import WrkResult, run_wrk
from tests.support.processes import ServerProcess, start_server
from tests.support.provision import SECRETS, MongoecoServer, RedisServer, app_env, start_services

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "load.lua"
RESULTS = ROOT / "bench" / "results"
PEAK_CONNECTIONS = 16


@dataclass(frozen=True, slots=True)
class Probe:
    """What one extra client saw during a phase: a request every 50 ms on its own connection,
    so the latency of a request as a user sees it (wrk's percentiles mix refusals in)."""

    ok_ms: tuple[float, ...]
    refused: int
    failed: int

    def percentile(self, q: float) -> float | None:
        values = sorted(self.ok_ms)
        return values[min(len(values) - 1, int(q * len(values)))] if values else None


class Prober:
    def __init__(self, url: str, tokens: Path | None) -> None:
        self.url = url
        self.tokens = tokens.read_text().split() if tokens else []
        self.stop = threading.Event()
        self.ok: list[float] = []
        self.refused = self.failed = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Prober:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(30)

    def result(self) -> Probe:
        return Probe(tuple(self.ok), self.refused, self.failed)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self.stop.wait(0.05):
                started = time.perf_counter()
                try:
                    headers = (
                        {"Authorization": f"Bearer {random.choice(self.tokens)}"}
                        if self.tokens
                        else {}
                    )  # one of many users: each has a quota of 120 requests a minute
                    status = http.get(self.url, headers=headers).status_code
                except httpx.HTTPError:
                    self.failed += 1
                    continue
                if status == 200:
                    self.ok.append((time.perf_counter() - started) * 1000)
                elif status in (429, 503):
                    self.refused += 1
                else:
                    self.failed += 1


@dataclass(frozen=True, slots=True)
class Row:
    endpoint: str
    phase: str
    limit: str
    connections: int
    result: WrkResult
    probe: Probe

    def statuses(self) -> dict[int, int]:
        return {
            int(k.split(":")[1]): v
            for k, v in self.result.counters.items()
            if k.startswith("status:")
        }


def mint_tokens(path: Path, users: int) -> None:
    """Access tokens of `users` made-up users, signed with the server's secret: the quota is
    per user (120 a minute), and the read needs no user record."""
    codec = JwtAccessTokenCodec(SECRETS["JWT_SECRET"])
    now = datetime.now(UTC)
    lines = [codec.issue(token_hex(16), token_hex(16), now).token for _ in range(users)]
    path.write_text("\n".join(lines) + "\n")


def wrk(
    server: ServerProcess, path: str, seconds: float, connections: int, tokens: Path | None,
    *, delay_ms: float = 0.0,
) -> WrkResult:  # fmt: skip
    env = {
        "BENCH_TOKENS_FILE": str(tokens) if tokens else "",
        "BENCH_DELAY_MS": f"{delay_ms:.3f}",
        "PATH": "/usr/bin:/bin",
    }
    return run_wrk(f"{server.url}{path}", seconds, connections=connections, script=SCRIPT, env=env)


def probed(
    server: ServerProcess, path: str, seconds: float, connections: int, tokens: Path | None,
    *, delay_ms: float = 0.0,
) -> tuple[WrkResult, Probe]:  # fmt: skip
    with Prober(f"{server.url}{path}", tokens) as prober:
        result = wrk(server, path, seconds, connections, tokens, delay_ms=delay_ms)
    return result, prober.result()


def calibrate(server: ServerProcess, path: str, target: float, tokens: Path | None) -> float:
    """The per-connection pause that makes 16 connections send `target` requests a second
    (wrk's delay() is coarse and the cycle includes the answer's latency): two short rounds."""
    delay = PEAK_CONNECTIONS * 1000 / target
    for _ in range(2):
        got = wrk(server, path, 2, PEAK_CONNECTIONS, tokens, delay_ms=delay).requests_per_s
        delay = max(0.5, delay * got / target)
    return delay


def run(args: argparse.Namespace, workdir: Path) -> list[Row]:
    rows: list[Row] = []
    tokens = workdir / "tokens.txt"
    mint_tokens(tokens, args.users)
    endpoints = [("GET /health", "/health", None), ("GET /api/v1/files", "/api/v1/files", tokens)]
    peaks: dict[str, float] = {}
    with start_services(RedisServer, MongoecoServer, workdir=workdir) as [redis, mongo]:
        for limit in (str(args.limit), "0"):
            env = app_env(redis=redis, mongo=mongo, MAX_IN_FLIGHT_REQUESTS=limit)
            server = start_server(env, log_dir=workdir, name=f"load-limit{limit}")
            try:
                deadline = time.monotonic() + 30
                while httpx.get(f"{server.url}/health?deep=1", timeout=5).status_code != 200:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the server's dependencies never answered")
                    time.sleep(0.2)
                label = "off" if limit == "0" else limit
                for name, path, auth in endpoints:
                    wrk(server, path, 2, PEAK_CONNECTIONS, auth)  # warm-up
                    if limit != "0":
                        progress(f"{name}: peak ({PEAK_CONNECTIONS} connections)")
                        peak, probe = probed(server, path, args.duration, PEAK_CONNECTIONS, auth)
                        peaks[name] = peak.requests_per_s
                        rows.append(Row(name, "peak", label, PEAK_CONNECTIONS, peak, probe))
                        delay = calibrate(server, path, peak.requests_per_s / 2, auth)
                        progress(f"{name}: half of peak ({delay:.1f} ms between requests)")
                        half, probe = probed(
                            server, path, args.duration, PEAK_CONNECTIONS, auth, delay_ms=delay
                        )
                        rows.append(Row(name, "half of peak", label, PEAK_CONNECTIONS, half, probe))
                    for connections in args.over:
                        progress(f"{name}: above peak, {connections} connections, limit {label}")
                        over, probe = probed(server, path, args.duration, connections, auth)
                        rows.append(Row(name, "above peak", label, connections, over, probe))
                        time.sleep(1.0)
                    rss = server.rss_kib() / 1024
                    progress(f"  server RSS after {name}: {rss:.1f} MiB")
            finally:
                server.stop(20)
    return rows


def render(rows: Sequence[Row], args: argparse.Namespace, elapsed_s: float) -> str:
    peaks = {r.endpoint: r.result for r in rows if r.phase == "peak"}
    table = []
    for r in rows:
        res = r.result
        statuses = r.statuses()
        answered = sum(statuses.values()) or 1
        shed = statuses.get(503, 0) + statuses.get(429, 0)
        peak = peaks[r.endpoint].requests_per_s
        seconds = res.requests / res.requests_per_s if res.requests_per_s else 1.0
        ok = statuses.get(200, 0) / seconds
        p = r.probe
        p50, p99 = p.percentile(0.5), p.percentile(0.99)
        table.append([
            r.endpoint, r.phase, r.limit, str(r.connections), f"{res.requests_per_s:,.0f}",
            f"{res.requests_per_s / peak:.2f}x", f"{ok:,.0f}", f"{res.p50_ms:.1f}",
            f"{res.p99_ms:.1f}", f"{res.p99_ms / res.p50_ms:.1f}x" if res.p50_ms else "-",
            f"{shed / answered:.1%}", str(res.socket_errors),
            f"{fmt(p50, 1)} / {fmt(p99, 1)}" + (f" ({p.refused} refused)" if p.refused else ""),
        ])  # fmt: skip
    header = [
        "endpoint", "phase", "in-flight limit", "connections", "req/s", "of peak", "200/s",
        "p50 ms", "p99 ms", "p99/p50", "shed (503/429)", "socket errors",
        "probe: a served request's p50 / p99 ms",
    ]  # fmt: skip
    lines = [
        f"# HTTP load ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {git_revision(ROOT)}, "
        f"{elapsed_s:.0f} s)",
        "",
        f"`python -m bench.load --duration {args.duration:g} --over "
        f"{','.join(map(str, args.over))} --limit {args.limit}`; wrk, 1 thread, "
        "on the same machine as the server (a 2-core VM shared with other work: the figures "
        "are this run's, not the machine's best).",
        "",
        *markdown_table(header, table),
        "",
        "wrk's p50/p99 are over every answer, refusals included (wrk cannot split them); the "
        "probe column is one more client sending a request every 50 ms on its own connection "
        "during the phase: the latency of a request the server served, as a user sees it. "
        "`of peak` compares wrk's answers a second with the peak phase's; `200/s` counts only "
        "the served ones.",
    ]
    return "\n".join(lines) + "\n"


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument(
        "--over",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[256, 1024],
        help="connection counts above peak (comma-separated)",
    )
    parser.add_argument("--limit", type=int, default=64, help="MAX_IN_FLIGHT_REQUESTS to test")
    parser.add_argument("--users", type=int, default=2000, help="made-up users (tokens)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="flowhub-load-") as workdir:
        rows = run(args, Path(workdir))
    report = render(rows, args, time.monotonic() - started)
    print(report)
    with contextlib.suppress(OSError):
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"load-{datetime.now(UTC):%Y%m%d-%H%M%S}.md").write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
