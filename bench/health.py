"""The platform probe answered in front of everything (entrypoints/health_probe.py) against the
same answer from the Quart route, A/B inside one server process, interleaved, medians.

    .venv/bin/python -m bench.health [--reps 3] [--seconds 4] [--connections 64]

`GET /health` takes the probe; `GET /health?deep=no` is the same plain check through the ASGI
stack the probe skips: python-socketio's ASGIApp, the load shedder, Quart and quart-schema, the
request id and the INFO request line. The server is the real entrypoint at INFO, as production
logs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bench.wrk import WrkResult, run_wrk
from tests.support.processes import LOOPBACK, running_server

PATHS = {"probe": "/health", "route": "/health?deep=no"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    runs: dict[str, list[WrkResult]] = {name: [] for name in PATHS}
    env = {"LOG_LEVEL": "INFO", "MAX_IN_FLIGHT_PER_CLIENT": "100000"}
    # The server's lines go to a file: a pipe nobody reads would fill and stall it.
    with (
        tempfile.TemporaryDirectory() as logs,
        running_server(env=env, log_dir=Path(logs)) as server,
    ):
        for path in PATHS.values():  # warm both paths
            run_wrk(f"http://{LOOPBACK}:{server.port}{path}", 1, connections=args.connections)
        for _ in range(args.reps):
            for name, path in PATHS.items():
                url = f"http://{LOOPBACK}:{server.port}{path}"
                runs[name].append(run_wrk(url, args.seconds, connections=args.connections))
    route = statistics.median(r.requests_per_s for r in runs["route"])
    print(
        f"| plain health, {args.connections} connections | req/s | p99 ms | non-2xx"
        " | ratio to route |"
    )
    print("| --- | --- | --- | --- | --- |")
    for name, results in runs.items():
        rps = statistics.median(r.requests_per_s for r in results)
        p99 = statistics.median(r.p99_ms for r in results)
        non_2xx = sum(r.non_2xx for r in results)
        print(
            f"| {name} (`{PATHS[name]}`) | {rps:,.0f} | {p99:.1f} | {non_2xx} | {rps / route:.2f} |"
        )


if __name__ == "__main__":
    main()
