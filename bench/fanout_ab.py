"""Server CPU per chat message with issue 21's realtime overrides switched on and off (A/B).

    .venv/bin/python -m bench.fanout_ab            # 5 variants x 3 repetitions, ~3 minutes
    .venv/bin/python -m bench.fanout_ab --quick    # all on / all off x 3, under a minute

One FlowHub server process at a time, started as bench/peer_bench.py starts it (production's
`python -m entrypoints`, uvicorn + uvloop, LOG_LEVEL INFO, a real redis-server for quotas,
presence and python-socketio's Redis manager; users and rooms in the memory adapters), pinned
to core 0, with the bench-only switches of entrypoints/realtime/switches.py in its environment
(read once when the server is built): `FLOWHUB_AB_FANOUT`, `FLOWHUB_AB_WRITER`,
`FLOWHUB_AB_SKIP_OWN`, each `0` for upstream's code. A variant is one combination; every
repetition runs each variant once on a fresh server (order reversed every other repetition),
so a change is sized against the other variants of the same minutes on this shared machine.

Load: bench/peer/fanout.js (socket.io-client, websocket transport; `make bench-peer` installs
it) on core 1 with the redis-server: N clients in rooms of 10, each sending `message:send`
at a fixed total rate; every message is acked and delivered to its 10 members. Server CPU
per message: utime + stime of /proc/<pid>/stat over the step and its drain, divided by the
messages acked; 2 steps per server (with a third, the per-user send quota, 20 in 10 s,
refused messages despite the key deletion below), their median is the run's figure. The quota keys
are deleted every 0.2 s so the quota script runs but never refuses.

Output: a table of medians (and min-max over the repetitions) with each variant's ratio to
"all on"; a variant is off-by-one, so its ratio is what that one change buys.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.peer_bench import (
    FANOUT,
    FLOWHUB_CORE,
    PEER,
    PEER_CORE,
    RESULTS,
    ROOM_SIZE,
    BenchError,
    Target,
    clear_rate_keys,
    flowhub_target,
    mint,
    pinned,
    populate,
    quota_cleared,
    start_redis,
)

SWITCHES = ("FLOWHUB_AB_FANOUT", "FLOWHUB_AB_WRITER", "FLOWHUB_AB_SKIP_OWN")
ALL_ON = dict.fromkeys(SWITCHES, "1")


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    env: Mapping[str, str]


def _off(*names: str) -> dict[str, str]:
    return {**ALL_ON, **dict.fromkeys(names, "0")}


FULL = (
    Variant("all on", ALL_ON),
    Variant("fan-out: task per recipient", _off("FLOWHUB_AB_FANOUT")),
    Variant("writer: wait_for per packet", _off("FLOWHUB_AB_WRITER")),
    Variant("listener: decode own", _off("FLOWHUB_AB_SKIP_OWN")),
    Variant("all off (upstream)", _off(*SWITCHES)),
)
QUICK = (FULL[0], FULL[-1])


@dataclass(frozen=True, slots=True)
class Config:
    reps: int
    clients: int
    rate: int
    steps: int
    step_s: float
    drain_s: float
    variants: tuple[Variant, ...]


def progress(text: str) -> None:
    print(f"[fanout-ab {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def one_run(config: Config, target: Target, variant: Variant, work: Path) -> list[float]:
    """A fresh server with the variant's switches, populated; CPU ms per message per step."""
    target.env.update(variant.env)
    target.start()
    try:
        users, rooms = populate(target, config.clients, target.env["JWT_SECRET"])
        room_of = {member: r[0] for r in rooms for member in r[1:]}
        clients = work / "chat.json"
        clients.write_text(
            json.dumps([
                {"token": mint(target.env["JWT_SECRET"], u.id), "room_id": room_of[u.id]}
                for u in users
            ])
        )  # fmt: skip
        command = pinned(target.load_core, [
            "node", str(FANOUT), "--url", target.url, "--clients", str(clients),
            "--room-size", str(ROOM_SIZE), "--pid", str(target.pid),
            "--rates", ",".join([str(config.rate)] * config.steps),
            "--step-s", str(config.step_s), "--drain-s", str(config.drain_s),
        ])  # fmt: skip
        clear_rate_keys(target.redis_port)
        with quota_cleared(target.redis_port, [f"rate:{u.id}:chat" for u in users]):
            done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        steps = [e for e in events if e.get("event") == "step"]
        if done.returncode != 0 or len(steps) != config.steps:
            raise BenchError(
                f"fanout failed ({done.returncode}): {done.stdout[-600:]} {done.stderr}"
            )
        for s in steps:
            # every message acked and delivered, or the CPU per message means nothing; a slow
            # p99 (the shared machine busy) is reported, not fatal
            if s["acked"] < s["sent"] or s["deliveries"] < s["deliveries_expected"]:
                raise BenchError(f"{variant.name}: {config.rate} msgs/s not delivered: {s}")
            if not s["sustained"]:
                progress(f"{variant.name}: delivery p99 {s['p99_ms']:.0f} ms (machine busy?)")
        return [float(s["server_cpu_ms_per_message"]) for s in steps]
    finally:
        target.stop()


def run(config: Config) -> str:
    if not (PEER / "node_modules" / "socket.io-client").is_dir():
        raise BenchError("bench/peer is not installed: `make bench-peer` (npm ci) first")
    RESULTS.mkdir(parents=True, exist_ok=True)
    samples: dict[str, list[float]] = {v.name: [] for v in config.variants}
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fanout-ab-")))
        logs = RESULTS / f"fanout-ab-logs-{time.strftime('%Y%m%d-%H%M%S')}"
        logs.mkdir()
        target = flowhub_target(
            start_redis(PEER_CORE, logs, stack), secrets.token_urlsafe(36), logs
        )
        stack.callback(target.stop)
        for rep in range(config.reps):
            order = config.variants if rep % 2 == 0 else tuple(reversed(config.variants))
            for variant in order:
                steps = one_run(config, target, variant, work)
                samples[variant.name].append(statistics.median(steps))
                progress(
                    f"rep {rep + 1} {variant.name}: "
                    + ", ".join(f"{s:.3f}" for s in steps)
                    + " ms CPU/msg"
                )
    return table(config, samples, time.monotonic() - started)


def table(config: Config, samples: Mapping[str, Sequence[float]], took_s: float) -> str:
    base = statistics.median(samples[config.variants[0].name])
    lines = [
        f"Server CPU per message, {config.clients} clients in rooms of {ROOM_SIZE}, "
        f"{config.rate} msgs/s, medians of {config.reps} servers x {config.steps} steps "
        f"of {config.step_s:g} s (FlowHub on core {FLOWHUB_CORE}, load on core {PEER_CORE}; "
        f"{took_s:.0f} s)",
        "",
        "| variant | ms CPU/msg (median) | min-max over runs | ratio to all on |",
        "| --- | --- | --- | --- |",
    ]
    for variant in config.variants:
        got = samples[variant.name]
        median = statistics.median(got)
        lines.append(
            f"| {variant.name} | {median:.3f} | {min(got):.3f}-{max(got):.3f} "
            f"| {median / base:.3f} |"
        )
    return "\n".join(lines)


def config_from(args: argparse.Namespace) -> Config:
    if args.quick:
        return Config(reps=args.reps or 3, clients=args.clients or 50, rate=args.rate or 200,
                      steps=2, step_s=2.0, drain_s=1.0, variants=QUICK)  # fmt: skip
    return Config(reps=args.reps or 3, clients=args.clients or 100, rate=args.rate or 250,
                  steps=2, step_s=3.0, drain_s=1.5, variants=FULL)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="all on / all off only, 50 clients")
    parser.add_argument("--reps", type=int, help="interleaved repetitions (3)")
    parser.add_argument("--clients", type=int, help="chat clients, rooms of 10 (100; quick: 50)")
    parser.add_argument("--rate", type=int, help="messages a second, all rooms (250; quick: 200)")
    args = parser.parse_args(argv)
    try:
        out = run(config_from(args))
    except BenchError as error:
        print(f"fanout-ab: {error}", file=sys.stderr)
        return 1
    print(out)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"fanout-ab-{stamp}.md").write_text(out + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
