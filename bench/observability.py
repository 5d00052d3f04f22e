"""Benchmark: what the telemetry sinks (Logtail for logs, Rollbar for errors) cost a request,
with their endpoint healthy, refusing connections and hanging, against the same app with no
sink configured, in the same run. Also the figures of the free-tier budgets.

    .venv/bin/python -m bench.observability            # 3 rounds, 5 s of wrk per load
    .venv/bin/python -m bench.observability --quick    # 1 round, 3 s

Every scenario serves FlowHub (development shape: memory adapters, so only the sinks differ)
through bench.observability:create_app, exactly as production logs: JSON lines on stdout at
INFO (one line per request), the Logtail shipper attached, the error reporter behind its guard:

- no sinks: no ROLLBAR_TOKEN / LOGTAIL_TOKEN (stdout only, errors kept in memory): the baseline;
- healthy: both SDKs post to a local capture server (tests/support/capture.py) that answers;
- refusing: both point at a loopback port nobody listens on (connection refused);
- hanging: both point at the capture server in "hang" mode (it reads, never answers).

Loads (wrk -t1): `ok`, GET /api/v1/obs/ok (one INFO line per request, shipped to Logtail) over
16 connections (saturated) and over 1 (a request's own latency); `mixed`, 16 connections, nine
of those then one GET /api/v1/obs/boom (a 500: an ERROR line with its traceback on stdout, one
Rollbar item per 10 minutes for the fingerprint). Scenarios run in interleaved
rounds (a drift of the machine's speed hits all alike); the table gives medians and the ratios
against the no-sink baseline. After the load each server gets SIGTERM: the time to exit shows
the bounded final flush (2 s at most). The process's own "telemetry totals at stop" line gives
what was shipped and dropped.

Budget figures: bytes per Logtail record as Logtail receives them (the capture server decodes
each msgpack batch; JSON size and wire size), for request lines and for workflow events (a
signup, verification and login run against the healthy server), the Rollbar item size, and from
them what fits in Logtail's 3 GB and Rollbar's 5,000 events a month with the defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from quart import Blueprint

from bench.harness import (
    Deadline,
    fmt,
    git_revision,
    markdown_table,
    memory,
    progress,
    spawn,
    tree_cpu_ms,
    uvicorn_command,
    wait_first_ok,
)
from bench.services import bench_env
from bench.wrk import WrkResult, run_wrk
from tests.support.capture import CaptureServer, refusing_url
from tests.support.processes import LOOPBACK, free_port, http_call

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MIXED_LUA = ROOT / "bench" / "observability.lua"
OK_PATH = "/api/v1/obs/ok"
FACTORY = "bench.observability:create_app"

SCENARIOS = ("no sinks", "healthy", "refusing", "hanging")
BASELINE = "no sinks"

# Free tiers and defaults (README, Observability)
LOGTAIL_BYTES_PER_MONTH = 3 * 10**9  # 3 GB, decimal
ROLLBAR_EVENTS_PER_MONTH = 5_000
DAYS = 30
ERROR_BUDGET_PER_DAY = 150
DEDUP_WINDOW_MIN = 10


# --- the app the servers run ---------------------------------------------------------------------


def create_app() -> Any:
    """FlowHub as `python -m entrypoints` serves it (configure_logging, then the ASGI app),
    plus two routes: one that only logs its request line, one that fails."""
    from config.settings import load_settings
    from entrypoints.asgi import create_app as create_flowhub
    from entrypoints.server import configure_logging

    settings = load_settings(os.environ)
    configure_logging(settings)
    routes = Blueprint("observability_bench", __name__, url_prefix="/obs")

    @routes.get("/ok")
    async def ok() -> dict[str, bool]:
        return {"ok": True}

    @routes.get("/boom")
    async def boom() -> dict[str, bool]:
        raise RuntimeError("the benchmark's failing route")

    return create_flowhub(settings, extra_blueprints=[routes])


# --- one scenario, one round ----------------------------------------------------------------------


@dataclass(slots=True)
class Run:
    ok: WrkResult | None = None
    mixed: WrkResult | None = None
    single: WrkResult | None = None  # one connection: a request's own latency, no queueing
    ok_cpu_us: float | None = None  # server CPU per request of the `ok` load
    mixed_cpu_us: float | None = None
    rss_mib: float | None = None
    stop_ms: float | None = None
    request_lines: int = 0  # flowhub.requests lines on stdout
    stdout_line_bytes: list[int] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)  # "telemetry totals at stop"
    received_records: int = 0
    received_items: int = 0
    error: str | None = None


@dataclass(slots=True)
class Sizes:
    request_json: list[int] = field(default_factory=list)  # anonymous request lines
    signed_in_json: list[int] = field(default_factory=list)  # request lines with a user_id
    event_json: list[int] = field(default_factory=list)
    wire_bytes: int = 0
    wire_records: int = 0
    item_bytes: list[int] = field(default_factory=list)
    events_seen: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Config:
    rounds: int
    wrk_s: float
    warm_s: float


def _sink_env(scenario: str, capture: CaptureServer, hanging: CaptureServer) -> dict[str, str]:
    if scenario == BASELINE:
        return {}
    base = {"healthy": capture.url, "refusing": refusing_url(), "hanging": hanging.url}[scenario]
    return {
        "ROLLBAR_TOKEN": "bench-rollbar-token",
        "ROLLBAR_ENDPOINT": f"{base}/api/1/",
        "LOGTAIL_TOKEN": "bench-logtail-token",
        "LOGTAIL_HOST": base,
    }


def run_scenario(
    scenario: str,
    config: Config,
    servers: tuple[CaptureServer, CaptureServer],
    logs: Path,
    sizes: Sizes | None,
) -> Run:
    capture, hanging = servers
    capture.clear()
    run = Run()
    port = free_port()
    log_path = logs / f"{scenario.replace(' ', '-')}.log"
    log_path.write_text("")
    env = {
        **bench_env(pyc_cache=True),
        "APP_ENV": "development",
        "APP_VERSION": "bench",
        "LOG_LEVEL": "INFO",
        "PORT": str(port),
        **_sink_env(scenario, capture, hanging),
    }
    proc, started = spawn(
        scenario, uvicorn_command(FACTORY, port), env=env, log_path=log_path, port=port
    )
    with proc:
        wait_first_ok(proc, port, "/health", started, Deadline(60))
        time.sleep(1.5)  # the warm-up loads the Logtail SDK 1 s after start
        http_call(port, "GET", "/api/v1/obs/boom")  # the first error loads pyrollbar
        time.sleep(1.0)
        base = f"http://{LOOPBACK}:{port}"
        run_wrk(base + OK_PATH, config.warm_s)
        before = tree_cpu_ms(proc.pid)
        run.ok = run_wrk(base + OK_PATH, config.wrk_s)
        between = tree_cpu_ms(proc.pid)
        run.mixed = run_wrk(base + OK_PATH, config.wrk_s, script=MIXED_LUA)
        ok_cpu, mixed_cpu = between - before, tree_cpu_ms(proc.pid) - between
        run.single = run_wrk(base + OK_PATH, config.wrk_s, connections=1)
        run.ok_cpu_us = ok_cpu * 1000 / max(1, run.ok.requests)
        run.mixed_cpu_us = mixed_cpu * 1000 / max(1, run.mixed.requests)
        run.rss_mib = memory(proc.pid).rss_mib
        if sizes is not None:
            _auth_flow(port)
        run.stop_ms = proc.stop(grace_s=30.0)
    _read_stdout(log_path, run)
    run.received_records = len(capture.records)
    run.received_items = len(capture.items)
    if sizes is not None:
        _measure(capture, sizes)
    return run


def _auth_flow(port: int) -> None:
    """Signup, the code from the dev mailbox, verification, a password login: the workflow
    events a real user produces."""
    headers = {"Content-Type": "application/json"}
    email, password = "bench.user@example.com", "correct horse battery"
    body = json.dumps({"email": email, "password": password, "name": "Bench"})
    http_call(port, "POST", "/api/v1/auth/signup", body=body, headers=headers)
    code = ""
    for _ in range(100):
        reply = http_call(port, "GET", f"/api/v1/dev/mailbox?to={email}")
        messages = reply.json()["messages"] if reply.status == 200 else []  # type: ignore[index]
        if messages:
            code = re.findall(r"\b\d{6}\b", messages[0]["text"])[0]
            break
        time.sleep(0.05)
    verify = json.dumps({"email": email, "code": code})
    http_call(port, "POST", "/api/v1/auth/verify-email", body=verify, headers=headers)
    login = json.dumps({"email": email, "password": password})
    pair = http_call(port, "POST", "/api/v1/auth/login", body=login, headers=headers).json()
    token = pair["access_token"]  # type: ignore[index]
    for _ in range(10):  # signed-in request lines carry the user id
        http_call(port, "GET", "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})


def _read_stdout(path: Path, run: Run) -> None:
    for line in path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue  # uvicorn's own lines (stderr, plain) and separators
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("logger") == "flowhub.requests":
            run.request_lines += 1
            run.stdout_line_bytes.append(len(line.encode()) + 1)
        elif entry.get("msg") == "telemetry totals at stop":
            run.totals = {k: entry.get(k) for k in ("logtail", "errors", "error_sink")}


def _compact(record: dict[str, Any]) -> int:
    return len(json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode())


def _measure(capture: CaptureServer, sizes: Sizes) -> None:
    for record in capture.records:
        if record.get("logger") == "flowhub.requests":
            signed_in = "user_id" in record
            (sizes.signed_in_json if signed_in else sizes.request_json).append(_compact(record))
        elif record.get("logger") == "flowhub.events":
            sizes.event_json.append(_compact(record))
            sizes.events_seen.add(str(record.get("event")))
    sizes.wire_bytes += sum(capture.batch_bytes)
    sizes.wire_records += len(capture.records)
    sizes.item_bytes += [len(raw) for raw in capture.raw_items]


# --- report ------------------------------------------------------------------------------------


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _ratio(value: float | None, base: float | None) -> str:
    return "–" if value is None or not base else f"{value / base:.2f}x"


def render(
    runs: dict[str, list[Run]], sizes: Sizes, config: Config, elapsed_s: float, notes: list[str]
) -> str:
    def med(name: str, pick: Any) -> float | None:
        return _median([pick(r) for r in runs[name]])

    def wrk(load: str, what: str) -> Any:
        def pick(r: Run) -> float | None:
            result: WrkResult | None = getattr(r, load)
            return None if result is None else float(getattr(result, what))

        return pick

    latency_header = (
        "scenario", "1 conn p50 ms", "p50 ratio", "1 conn p99 ms", "p99 ratio",
        "16 conn req/s", "ratio", "p50 ms", "p99 ms", "p99 ratio",
        "mixed req/s", "ratio", "p99 ms", "p99 ratio",
    )  # fmt: skip
    cost_header = (
        "scenario", "CPU µs/req (16 conn)", "ratio", "CPU µs/req (mixed)", "ratio",
        "RSS MiB after load", "SIGTERM→exit ms",
    )  # fmt: skip
    latency, cost = [], []
    for name in SCENARIOS:
        if not runs.get(name):
            continue

        def cell(load: str, what: str, digits: int, name: str = name) -> list[str]:
            value, base = med(name, wrk(load, what)), med(BASELINE, wrk(load, what))
            return [fmt(value, digits), _ratio(value, base)]

        latency.append([
            name,
            *cell("single", "p50_ms", 2), *cell("single", "p99_ms", 2),
            *cell("ok", "requests_per_s", 0), fmt(med(name, wrk("ok", "p50_ms")), 2),
            *cell("ok", "p99_ms", 2),
            *cell("mixed", "requests_per_s", 0), *cell("mixed", "p99_ms", 2),
        ])  # fmt: skip
        row = [name]
        for load in ("ok", "mixed"):
            cpu = med(name, lambda r, load=load: getattr(r, f"{load}_cpu_us"))
            base_cpu = med(BASELINE, lambda r, load=load: getattr(r, f"{load}_cpu_us"))
            row += [fmt(cpu), _ratio(cpu, base_cpu)]
        row += [fmt(med(name, lambda r: r.rss_mib), 1), fmt(med(name, lambda r: r.stop_ms))]
        cost.append(row)

    delivery_header = (
        "scenario", "request lines (stdout)", "Logtail records received", "shipped (sent)",
        "dropped: queue full", "dropped: failed uploads", "Rollbar items received",
        "reports: sent / failed / duplicates",
    )  # fmt: skip
    delivery = []
    for name in SCENARIOS:
        for i, r in enumerate(runs.get(name, []), 1):
            logtail = r.totals.get("logtail") or {}
            errors = r.totals.get("errors") or {}
            sink = r.totals.get("error_sink") or {}
            delivery.append([
                f"{name} (round {i})",
                str(r.request_lines),
                str(r.received_records),
                str(logtail.get("sent", "–")),
                str(logtail.get("dropped_full", "–")),
                str(logtail.get("failed", "–")),
                str(r.received_items),
                f"{sink.get('sent', '–')} / {sink.get('failed', '–')} / "
                f"{errors.get('duplicates', '–')}",
            ])  # fmt: skip

    lines = [
        "# Observability benchmark: what the telemetry sinks cost a request",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}, revision {git_revision(ROOT)}, "
        f"{os.cpu_count()} CPUs, {config.rounds} round(s), wrk -t1 {config.wrk_s:.0f} s per load, "
        f"{elapsed_s:.0f} s in all. Medians over the rounds; ratios against "
        "`no sinks` (same app, no token: stdout only) in the same run.",
        "",
        "## Request latency",
        "",
        *markdown_table(latency_header, latency),
        "",
        "GET /api/v1/obs/ok (one INFO request line each: stdout and Logtail) over 1 connection "
        "(each request's own latency) and 16 (saturated: throughput and queueing); `mixed`: "
        "16 connections, every 10th request fails (500: an ERROR line with its traceback on "
        "stdout; Rollbar gets one item per fingerprint per 10 min).",
        "",
        "## Cost",
        "",
        *markdown_table(cost_header, cost),
        "",
        "Server CPU (all threads: the event loop and the senders) per request under load. "
        "`SIGTERM→exit` includes the final flush of the sinks, bounded by 2 s.",
        "",
        "## Delivery (from each server's `telemetry totals at stop` line)",
        "",
        *markdown_table(delivery_header, delivery),
        "",
        *_budget(sizes, runs),
    ]
    if notes:
        lines += ["", "## Notes", "", *(f"- {n}" for n in notes)]
    return "\n".join(lines) + "\n"


def _budget(sizes: Sizes, runs: dict[str, list[Run]]) -> list[str]:
    if not sizes.request_json:
        return ["## Budget", "", "no records were received: no figure"]
    request_b = statistics.mean(sizes.request_json)
    signed_b = statistics.mean(sizes.signed_in_json) if sizes.signed_in_json else request_b
    event_b = statistics.mean(sizes.event_json) if sizes.event_json else 0.0
    wire_b = sizes.wire_bytes / sizes.wire_records if sizes.wire_records else 0.0
    stdout_b = statistics.mean(b for r in runs.get(BASELINE, []) for b in r.stdout_line_bytes)
    per_day = LOGTAIL_BYTES_PER_MONTH / DAYS
    item_b = statistics.mean(sizes.item_bytes) if sizes.item_bytes else 0.0
    per_fingerprint_day = 24 * 60 // DEDUP_WINDOW_MIN
    return [
        "## Budget figures (defaults: LOG_LEVEL=INFO, ERROR_BUDGET_PER_DAY=150)",
        "",
        f"- Logtail record, request line: {request_b:.0f} B as JSON "
        f"({len(sizes.request_json)} received), {signed_b:.0f} B signed in (with `user_id`, "
        f"{len(sizes.signed_in_json)}); workflow event: {event_b:.0f} B "
        f"({len(sizes.event_json)}: {', '.join(sorted(sizes.events_seen))}); on the wire "
        f"(msgpack, all records): {wire_b:.0f} B. Same line on stdout: {stdout_b:.0f} B.",
        f"- Logtail 3 GB / {DAYS} days = {per_day / 1e6:.0f} MB a day: "
        f"**{per_day / signed_b:,.0f} signed-in requests a day** with one request line each "
        f"({per_day / signed_b / 86400:.1f} req/s on average; anonymous ones: "
        f"{per_day / request_b:,.0f}); a request that also logs one workflow event: "
        f"{per_day / (signed_b + event_b):,.0f} a day. "
        "Errors add nothing to Logtail (ERROR never goes there).",
        f"- Rollbar: one item per report ({item_b:,.0f} B), at most one report per fingerprint "
        f"per {DEDUP_WINDOW_MIN} min ({per_fingerprint_day} a day for an error that never "
        f"stops) and at most {ERROR_BUDGET_PER_DAY} a day: **{ERROR_BUDGET_PER_DAY} reported "
        f"errors a day**, {ERROR_BUDGET_PER_DAY * 31:,} in a 31-day month "
        f"(< {ROLLBAR_EVENTS_PER_MONTH:,}); occurrences beyond that are counted on the next "
        "report and always on stdout. 1,000 identical errors make 1 item "
        "(held by tests/api/test_observability.py); the mixed load above sent "
        f"{_items(runs)} item(s) for thousands of 500s.",
    ]


def _items(runs: dict[str, list[Run]]) -> str:
    return ", ".join(str(r.received_items) for r in runs.get("healthy", [])) or "–"


# --- main -------------------------------------------------------------------------------------


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def _capture_servers() -> Iterator[tuple[CaptureServer, CaptureServer]]:
    with CaptureServer() as capture, CaptureServer(mode="hang") as hanging:
        yield capture, hanging


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=None, help="rounds of every scenario (3)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of wrk per load")
    parser.add_argument("--quick", action="store_true", help="1 round, 3 s per load")
    args = parser.parse_args(argv)
    config = Config(
        rounds=args.rounds or (1 if args.quick else 3),
        wrk_s=args.duration or (3.0 if args.quick else 5.0),
        warm_s=1.0,
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    began = time.monotonic()
    runs: dict[str, list[Run]] = {name: [] for name in SCENARIOS}
    sizes = Sizes()
    notes: list[str] = []
    interrupted = False
    with tempfile.TemporaryDirectory(prefix="flowhub-obs-") as tmp, _capture_servers() as servers:
        try:
            for round_ in range(1, config.rounds + 1):
                for name in SCENARIOS:
                    measure = name == "healthy" and round_ == config.rounds
                    progress(f"[{name}] round {round_}/{config.rounds}")
                    try:
                        run = run_scenario(
                            name, config, servers, Path(tmp), sizes if measure else None
                        )
                    except Exception as error:
                        notes.append(f"{name} round {round_}: {type(error).__name__}: {error}")
                        continue
                    runs[name].append(run)
                    if run.ok and run.mixed:
                        progress(
                            f"[{name}] ok {run.ok.requests_per_s:.0f} req/s p99 "
                            f"{run.ok.p99_ms:.2f} ms; mixed {run.mixed.requests_per_s:.0f} req/s; "
                            f"exit {run.stop_ms:.0f} ms"
                        )
        except KeyboardInterrupt:
            interrupted = True
            notes.append("interrupted: the results are partial")
    report = render(runs, sizes, config, time.monotonic() - began, notes)
    path = RESULTS / f"observability-{time.strftime('%Y%m%d-%H%M%S')}.md"
    path.write_text(report)
    print(report)
    progress(f"written to {path.relative_to(ROOT)}")
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
