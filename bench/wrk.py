"""Run wrk and read what it prints: requests/s, latency percentiles, errors, and the counters a
script's `done()` prints as `bench <name> <count>` lines."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

WRK = "/usr/bin/wrk"

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_DURATION = r"([\d.]+)(us|ms|s|m)"
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_PERCENTILE = re.compile(r"^\s+(50|75|90|99)%\s+" + _DURATION, re.M)
_TOTAL = re.compile(r"^\s+(\d+) requests in ", re.M)
_NON_2XX = re.compile(r"^\s+Non-2xx or 3xx responses:\s+(\d+)", re.M)
_COUNTER = re.compile(r"^bench (\S+) (\d+)$", re.M)
_SOCKET_ERRORS = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.M
)


class WrkError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int  # wrk counts responses with a status >= 400 ("Non-2xx or 3xx")
    socket_errors: int  # connect + read + write + timeout
    counters: Mapping[str, int] = field(default_factory=dict)  # from the script, if any


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNIT_MS[unit]


def parse_wrk(output: str) -> WrkResult:
    rps = _RPS.search(output)
    total = _TOTAL.search(output)
    percentiles = {m.group(1): _ms(m.group(2), m.group(3)) for m in _PERCENTILE.finditer(output)}
    if rps is None or total is None or "50" not in percentiles or "99" not in percentiles:
        raise WrkError(f"unexpected wrk output:\n{output}")
    non_2xx = _NON_2XX.search(output)
    errors = _SOCKET_ERRORS.search(output)
    return WrkResult(
        requests_per_s=float(rps.group(1)),
        p50_ms=percentiles["50"],
        p99_ms=percentiles["99"],
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        counters={m.group(1): int(m.group(2)) for m in _COUNTER.finditer(output)},
    )


def run_wrk(
    url: str,
    duration_s: float,
    *,
    connections: int = 16,
    threads: int = 1,
    script: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> WrkResult:
    command = [
        WRK,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "5s",
        "--latency",
    ]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=duration_s + 30,
            env=dict(env) if env is not None else None,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise WrkError(f"wrk did not finish within {duration_s + 30:.0f} s") from error
    if done.returncode != 0:
        raise WrkError(f"wrk exited with {done.returncode}: {done.stderr.strip()}")
    return parse_wrk(done.stdout)
