"""Foundation benchmark: cold start, memory and throughput of FlowHub against a minimal app of the
same stack, served by real ASGI server processes on loopback.

    .venv/bin/python -m bench.foundation           # baseline, FlowHub dev, FlowHub prod
    .venv/bin/python -m bench.foundation --quick   # fewer runs, shorter wrk runs

Targets: BASELINE (bench/baseline_app.py), FLOWHUB-DEV (in-memory adapters) and FLOWHUB-PROD
(APP_ENV=production against redis-server, mongoeco's wire server and moto, all started here, and
Rollbar and Logtail pointed at a local capture server), both FlowHub shapes through bench/apps.py,
all served by uvicorn as production serves (why uvicorn: docs/decisions/asgi-server.md). For
every target:

- cold start: spawn to the first `200` from `GET /health` (raw connections every 5 ms), median of
  N starts after one untimed priming start; the starts run in rounds over every target, so a drift
  of the machine's speed hits all targets alike (the report also gives per-round ratios);
- memory of the server's process tree after a settle (VmRSS, VmHWM, PSS), and after the load;
- wrk (`-t1 -c16 --latency`) on `GET /health` and on `POST /api/v1/bench/echo` (bench/echo.lua).

Bytecode: the venv ships no .pyc and this machine sets PYTHONDONTWRITEBYTECODE=1, so every start
would compile every module. A production image compiles bytecode (`uv sync --compile-bytecode`), so
servers run with PYTHONPYCACHEPREFIX=bench/results/.pycache (filled by the priming start);
`--no-pyc-cache` measures the environment as it is.

Every process started here is stopped at exit, Ctrl-C and errors included; the run is bounded by
`--budget` seconds. Results go to stdout and bench/results/foundation-<timestamp>.md.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from bench.echo import BEARER, ECHO_BODY, ECHO_PATH, ECHO_PAYLOAD, STATE_PATH
from bench.harness import (
    ColdStart,
    Deadline,
    Memory,
    deep_health,
    fmt,
    git_revision,
    host_cpu,
    log_problems,
    markdown_table,
    memory,
    progress,
    sigint_ignored,
    socketio_check,
    spawn,
    uvicorn_command,
    wait_first_ok,
)
from bench.services import bench_env, production_env, production_services
from bench.wrk import WrkResult, run_wrk
from tests.support.capture import CaptureServer
from tests.support.processes import LOOPBACK, ServerProcess, free_port, http_call

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
ECHO_LUA = BENCH / "echo.lua"
PY = sys.executable

# Targets of the ratio checks (FlowHub-prod against BASELINE, both on uvicorn).
COLD_START_RATIO_MAX = 1.25
THROUGHPUT_RATIO_MIN = 0.70
IDLE_RSS_MAX_MIB = 120.0


# --- targets ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class App:
    name: str
    factory: str
    env: dict[str, str]
    production: bool = False


@dataclass(slots=True)
class Result:
    app: str
    cold: list[ColdStart] = field(default_factory=list)
    stop_ms: list[float] = field(default_factory=list)
    idle: Memory | None = None
    loaded: Memory | None = None
    settle_busy_pct: float | None = None
    health: WrkResult | None = None
    echo: WrkResult | None = None
    lifespan: str = "?"
    clients: str = ""
    socketio: str = "?"
    deep_health: str = ""
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def cold_median_ms(self) -> float | None:
        return statistics.median(c.ok_ms for c in self.cold) if self.cold else None


@dataclass(frozen=True, slots=True)
class Target:
    app: App
    result: Result

    @property
    def tag(self) -> str:
        return f"[{self.app.name}]"

    @property
    def log_path_name(self) -> str:
        return f"{self.app.name}.log"


@dataclass(frozen=True, slots=True)
class Config:
    runs: int
    settle_s: float
    wrk_s: float
    wrk_warm_s: float
    pyc_cache: bool
    quick: bool


class Bench:
    """Runs every target through three phases: one untimed priming start each; the timed cold
    starts in interleaved rounds (a drift in the machine's load then hits every target alike);
    then one steady-state server each for memory, route checks and wrk."""

    def __init__(self, config: Config, logs: Path, deadline: Deadline) -> None:
        self.config = config
        self.logs = logs
        self.deadline = deadline
        self.stack = contextlib.ExitStack()  # every process still running, for the final cleanup
        self.results: list[Result] = []
        self.notes: list[str] = []

    def base_env(self) -> dict[str, str]:
        return bench_env(self.config.pyc_cache)

    def run(self, targets: Sequence[Target]) -> None:
        c = self.config
        self.results.extend(t.result for t in targets)
        for target in targets:
            self._step(target, "priming", 8.0, self._prime)
        for run in range(1, c.runs + 1):
            for target in targets:
                self._step(target, f"cold start {run}", 4.0, self._cold_start)
        steady_s = c.settle_s + 2 * (c.wrk_s + c.wrk_warm_s) + 10.0
        for target in targets:
            self._step(target, "steady state", steady_s, self._steady)
        for target in targets:
            target.result.notes.extend(log_problems(self.logs / target.log_path_name))

    def _step(
        self, target: Target, what: str, needs_s: float, step: Callable[[Target], None]
    ) -> None:
        result = target.result
        if result.error is not None:
            return
        if self.deadline.remaining() < needs_s:
            note = f"{what} skipped: the time budget is spent"
            if note not in result.notes:
                result.notes.append(note)
            return
        try:
            step(target)
        except Exception as error:
            result.error = f"{what}: {type(error).__name__}: {error}"
            progress(f"{target.tag} FAILED: {result.error}")

    def _spawn(self, target: Target, label: str) -> tuple[ServerProcess, int, float]:
        """Start the target's server on a free port: (process, port, perf_counter at spawn)."""
        port = free_port()
        log_path = self.logs / target.log_path_name
        with log_path.open("a") as log:
            log.write(f"\n--- {label} (port {port}) ---\n")
        process, started = spawn(
            target.app.name,
            uvicorn_command(target.app.factory, port),
            env={**self.base_env(), **target.app.env},
            log_path=log_path,
            port=port,
        )
        self.stack.push(process)
        return process, port, started

    def _wait_ok(self, process: ServerProcess, port: int, started: float) -> ColdStart:
        return wait_first_ok(process, port, "/health", started, Deadline(self.deadline.bound(60)))

    def _prime(self, target: Target) -> None:
        """One untimed start: fills the bytecode cache (lazy warm-up imports included) and the
        page cache, so every timed start sees the same disk state."""
        process, port, started = self._spawn(target, "priming")
        with process:
            self._wait_ok(process, port, started)
            time.sleep(self.config.settle_s if target.app.production else 0.3)
        progress(f"{target.tag} primed")

    def _cold_start(self, target: Target) -> None:
        result = target.result
        process, port, started = self._spawn(target, f"cold start {len(result.cold) + 1}")
        with process:
            cold = self._wait_ok(process, port, started)
            result.cold.append(cold)
            result.stop_ms.append(process.stop())
        progress(
            f"{target.tag} cold start {len(result.cold)}/{self.config.runs}: "
            f"{cold.ok_ms:.0f} ms ({cold.cpu_ms:.0f} ms CPU)"
        )

    def _steady(self, target: Target) -> None:
        result = target.result
        process, port, started = self._spawn(target, "steady state")
        with process:
            self._wait_ok(process, port, started)
            before = host_cpu()
            time.sleep(self.config.settle_s)  # let the background warm-up finish
            result.settle_busy_pct = host_cpu().busy_pct_since(before)
            result.idle = memory(process.pid)
            progress(
                f"{target.tag} idle: RSS {result.idle.rss_mib:.1f} MiB "
                f"({result.idle.processes} processes)"
            )
            self._check_routes(port, result)
            result.socketio = socketio_check(port)

            wrk_env = {**os.environ, "BENCH_ECHO_BODY": ECHO_BODY, "BENCH_BEARER": BEARER}
            health_url = f"http://{LOOPBACK}:{port}/health"
            echo_url = f"http://{LOOPBACK}:{port}{ECHO_PATH}"
            run_wrk(health_url, self.config.wrk_warm_s)
            result.health = run_wrk(health_url, self.config.wrk_s)
            progress(f"{target.tag} /health: {result.health.requests_per_s:.0f} req/s")
            run_wrk(echo_url, self.config.wrk_warm_s, script=ECHO_LUA, env=wrk_env)
            result.echo = run_wrk(echo_url, self.config.wrk_s, script=ECHO_LUA, env=wrk_env)
            progress(f"{target.tag} echo: {result.echo.requests_per_s:.0f} req/s")
            result.loaded = memory(process.pid)

            if target.app.production:
                result.deep_health = deep_health(port)
            result.stop_ms.append(process.stop())

    def _check_routes(self, port: int, result: Result) -> None:
        health = http_call(port, "GET", "/health")
        if health.status != 200:
            result.notes.append(f"GET /health answered {health.status}")
        echo = http_call(
            port,
            "POST",
            ECHO_PATH,
            body=ECHO_BODY,
            headers={"Content-Type": "application/json", "Authorization": BEARER},
        )
        if echo.status != 200 or echo.json() != ECHO_PAYLOAD:
            result.notes.append(f"POST {ECHO_PATH} answered {echo.status}: {echo.body[:120]!r}")
        state = http_call(port, "GET", STATE_PATH)
        body = state.json() if state.status == 200 else None
        if not isinstance(body, dict):
            result.lifespan = f"? ({state.status})"
            return
        result.lifespan = "ran" if body.get("before_serving") else "DID NOT RUN"
        clients = body.get("clients") or {}
        opened = [n for n, v in clients.items() if v is True]
        lazy = [n for n, v in clients.items() if v is False]
        parts = ([f"open: {'+'.join(opened)}"] if opened else []) + (
            [f"not yet: {'+'.join(lazy)}"] if lazy else []
        )
        result.clients = "; ".join(parts) or "memory"


# --- report -------------------------------------------------------------------------------------


def _wrk_cells(w: WrkResult | None) -> list[str]:
    if w is None:
        return ["–", "–", "–"]
    return [fmt(w.requests_per_s), fmt(w.p50_ms, 2), fmt(w.p99_ms, 2)]


MAIN_HEADER = (
    "target", "cold start ms, median (min–max)", "RSS MiB idle", "peak RSS (HWM) MiB",
    "/health req/s", "p50", "p99", "echo req/s", "p50", "p99", "non-2xx health/echo",
)  # fmt: skip
DETAIL_HEADER = (
    "target", "cold start CPU ms", "first TCP accept ms", "stop ms", "procs",
    "PSS MiB idle", "RSS MiB after load", "host busy % in settle", "lifespan", "clients",
    "Socket.IO websocket", "deep health", "socket errors health/echo",
)  # fmt: skip


def _main_row(r: Result) -> list[str]:
    if r.cold:
        oks = [c.ok_ms for c in r.cold]
        cold = f"{fmt(r.cold_median_ms)} ({fmt(min(oks))}–{fmt(max(oks))})"
    else:
        cold = "–"
    non_2xx = "/".join(str(w.non_2xx) if w else "–" for w in (r.health, r.echo))
    return [
        r.app,
        cold,
        fmt(r.idle.rss_mib, 1) if r.idle else "–",
        fmt(r.idle.hwm_mib, 1) if r.idle else "–",
        *_wrk_cells(r.health),
        *_wrk_cells(r.echo),
        non_2xx,
    ]


def _detail_row(r: Result) -> list[str]:
    def median(values: Sequence[float]) -> float | None:
        return statistics.median(values) if values else None

    errors = "/".join(str(w.socket_errors) if w else "–" for w in (r.health, r.echo))
    return [
        r.app,
        fmt(median([c.cpu_ms for c in r.cold])),
        fmt(median([c.accept_ms for c in r.cold])),
        fmt(median(r.stop_ms)),
        str(r.idle.processes) if r.idle else "–",
        fmt(r.idle.pss_mib, 1) if r.idle else "–",
        fmt(r.loaded.rss_mib, 1) if r.loaded else "–",
        fmt(r.settle_busy_pct),
        r.lifespan,
        r.clients or "–",
        r.socketio,
        r.deep_health or "–",
        errors,
    ]


def _find(results: Sequence[Result], app: str) -> Result | None:
    return next((r for r in results if r.app == app), None)


def _ratios(results: Sequence[Result]) -> list[str]:
    base, prod = _find(results, "baseline"), _find(results, "flowhub-prod")

    def ratio(p: float | None, b: float | None) -> float | None:
        return p / b if p and b else None

    def verdict(value: float | None, passes: Callable[[float], bool]) -> str:
        return "n/a" if value is None else ("PASS" if passes(value) else "FAIL")

    b_cold = base.cold_median_ms if base else None
    p_cold = prod.cold_median_ms if prod else None
    cold = ratio(p_cold, b_cold)
    b_rps = base.health.requests_per_s if base and base.health else None
    p_rps = prod.health.requests_per_s if prod and prod.health else None
    rps = ratio(p_rps, b_rps)
    b_rss = base.idle.rss_mib if base and base.idle else None
    p_rss = prod.idle.rss_mib if prod and prod.idle else None
    # Starts run in rounds, so pairing each round's starts cancels a drift of the machine's speed.
    rounds = zip(prod.cold, base.cold, strict=False) if base and prod else []
    pairs = [p.ok_ms / b.ok_ms for p, b in rounds]
    paired = statistics.median(pairs) if pairs else None
    rows = [
        [
            "cold start (median ms)", fmt(p_cold), fmt(b_cold), fmt(cold, 3),
            f"≤ {COLD_START_RATIO_MAX}", verdict(cold, lambda v: v <= COLD_START_RATIO_MAX),
        ],
        [
            "cold start, median of per-round ratios", "", "", fmt(paired, 3),
            f"≤ {COLD_START_RATIO_MAX}", "(info)" if paired is not None else "n/a",
        ],
        [
            "/health throughput (req/s)", fmt(p_rps), fmt(b_rps), fmt(rps, 3),
            f"≥ {THROUGHPUT_RATIO_MIN}", verdict(rps, lambda v: v >= THROUGHPUT_RATIO_MIN),
        ],
        [
            "idle RSS (MiB, absolute)", fmt(p_rss, 1), fmt(b_rss, 1), fmt(ratio(p_rss, b_rss), 2),
            f"< {IDLE_RSS_MAX_MIB:.0f} MiB", verdict(p_rss, lambda v: v < IDLE_RSS_MAX_MIB),
        ],
    ]  # fmt: skip
    header = ["check (uvicorn)", "FlowHub-prod", "baseline", "prod / baseline", "target", "result"]
    return markdown_table(header, rows)


def _versions() -> str:
    names = ("uvicorn", "quart", "quart-schema", "python-socketio")
    found = []
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    return ", ".join(found)


def render(results: Sequence[Result], config: Config, elapsed_s: float, notes: list[str]) -> str:
    c = config
    lines = [
        f"# Foundation benchmark, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        "",
        f"- machine: {os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}",
        f"- code: {git_revision(ROOT)}; {_versions()}",
        f"- cold start: median of {c.runs} starts, in rounds over every target, after 1 untimed "
        "priming start each; bytecode: "
        f"{'cached (PYTHONPYCACHEPREFIX)' if c.pyc_cache else 'as the environment is'}",
        f"- memory after a {c.settle_s:.0f} s settle, summed over the server's processes; "
        f"wrk -t1 -c16 -d{c.wrk_s:.0f}s --latency after a {c.wrk_warm_s:.0f} s warm-up; "
        "latencies in ms",
        f"- run took {elapsed_s:.0f} s{' (--quick)' if c.quick else ''}",
        "",
        *markdown_table(MAIN_HEADER, [_main_row(r) for r in results]),
        "",
        "## Ratios: FlowHub-prod against BASELINE (uvicorn)",
        "",
        *_ratios(results),
        "",
        "## Details",
        "",
        *markdown_table(DETAIL_HEADER, [_detail_row(r) for r in results]),
        "",
        "- cold start CPU ms: CPU time the server's processes had used at the first 200; unlike "
        "wall time it does not grow when other work shares the cores (on a Fly shared CPU the "
        "wall time tends towards this CPU time divided by the CPU share).",
        "- host busy % in settle: the whole machine's CPU use while the server idled (FlowHub-prod "
        "opens its clients then); well above a few % means other work disturbed the run.",
        "- first TCP accept: uvicorn listens only after the lifespan startup.",
        "- non-2xx: wrk's count of responses with a status >= 400; every route is also checked "
        "once for a 200 and the expected body before the load.",
        "- Socket.IO: Engine.IO over a websocket without compression, then a connect to `/`: "
        "`40` accepted, `44 unauthorized` refused by the app (FlowHub until auth lands).",
    ]
    problems = notes + [
        f"{r.app}: {note}" for r in results for note in ([r.error] if r.error else [])
    ]
    problems += [f"{r.app}: {note}" for r in results for note in r.notes]
    if problems:
        lines += ["", "## Notes", "", *(f"- {p}" for p in problems)]
    return "\n".join(lines) + "\n"


# --- main ---------------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.foundation", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="3 starts, 3 s wrk runs")
    parser.add_argument("--runs", type=int, help="cold starts per target (default 5, quick 3)")
    parser.add_argument("--duration", type=float, help="seconds per wrk run (default 10, quick 3)")
    parser.add_argument(
        "--no-pyc-cache",
        action="store_true",
        help="run the servers with the environment's bytecode settings as they are",
    )
    parser.add_argument(
        "--budget", type=float, help="seconds the whole run may take (default 570, quick 170)"
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep server logs in bench/results/logs-<time>/"
    )
    return parser.parse_args(argv)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    config = Config(
        runs=args.runs or (3 if args.quick else 5),
        settle_s=2.0,
        wrk_s=args.duration or (3.0 if args.quick else 10.0),
        wrk_warm_s=1.0 if args.quick else 2.0,
        pyc_cache=not args.no_pyc_cache,
        quick=args.quick,
    )
    deadline = Deadline(args.budget or (170.0 if args.quick else 570.0))
    began = time.monotonic()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _raise_interrupt)

    interrupted = False
    with contextlib.ExitStack() as outer:
        if args.keep_logs:
            logs = RESULTS / f"logs-{stamp}"
            logs.mkdir()
        else:
            logs = Path(outer.enter_context(tempfile.TemporaryDirectory(prefix="flowhub-bench-")))
        bench = Bench(config, logs, deadline)
        try:
            _run(bench)
        except KeyboardInterrupt:
            interrupted = True
            bench.notes.append("interrupted: the results are partial")
            progress("interrupted: stopping every process")
        finally:
            with sigint_ignored():
                bench.stack.close()

    report = render(bench.results, config, time.monotonic() - began, bench.notes)
    path = RESULTS / f"foundation-{stamp}.md"
    path.write_text(report)
    print(report)
    progress(f"written to {path.relative_to(ROOT)}")
    return 130 if interrupted else (1 if any(r.error for r in bench.results) else 0)


def _run(bench: Bench) -> None:
    from config.settings import load_settings  # validates the production env before any start

    dev = App(
        "flowhub-dev",
        "bench.apps:create_flowhub_app",
        {"APP_ENV": "development", "LOG_LEVEL": "WARNING", "APP_VERSION": "bench"},
    )
    baseline = App("baseline", "bench.baseline_app:create_app", {})
    progress("starting redis-server, mongoeco and moto for FLOWHUB-PROD")
    with (
        production_services(bench.base_env(), bench.logs) as services,
        CaptureServer() as sinks,  # Rollbar and Logtail: local, never the real services
    ):
        env = {
            **production_env(services),
            "ROLLBAR_ENDPOINT": sinks.rollbar_endpoint,
            "LOGTAIL_HOST": sinks.logtail_host,
        }
        load_settings(env)
        prod = App("flowhub-prod", "bench.apps:create_flowhub_app", env, production=True)
        bench.run([Target(app, Result(app.name)) for app in (baseline, dev, prod)])


if __name__ == "__main__":
    sys.exit(main())
