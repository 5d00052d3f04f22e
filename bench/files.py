"""Files benchmark: upload throughput through `POST /api/v1/files` against a direct put of the
same bytes to the same storage in the same run, and the server's memory during ten concurrent
uploads of 10 MB. Production shape: APP_ENV=production with redis-server, mongoeco's wire
server and moto's S3 (all started here), FlowHub served by uvicorn exactly as in production.

    .venv/bin/python -m bench.files            # 15 uploads of 10 MB each way, then 10 at once
    .venv/bin/python -m bench.files --quick    # 5 each way

- throughput: N sequential uploads of a 10 MB PNG-headed random file through the API
  (multipart/form-data, spooled and put to S3) interleaved with N `PutObject`s of the same bytes
  from this process to the same bucket (after one untimed warm-up of each): MB/s, median ms,
  and the ratio (target: >= 0.60);
- memory: ten uploads of 10 MB started together (threads released by a barrier); the server's
  VmRSS sampled every 20 ms (peak) and its VmHWM after a reset (target: peak < 250 MB).

Access tokens are minted with the server's JWT secret, one user per upload (the per-user API
quota is not what is measured). Results go to stdout and bench/results/files-<timestamp>.md.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import (
    Deadline,
    RssSampler,
    git_revision,
    log_problems,
    markdown_table,
    progress,
    reset_peak_rss,
    spawn,
    status_kib,
    uvicorn_command,
    wait_first_ok,
)
from bench.services import (
    AWS_ACCESS_KEY_ID,
    AWS_REGION,
    AWS_SECRET_ACCESS_KEY,
    S3_BUCKET_NAME,
    bench_env,
    production_env,
    production_services,
)
from tests.support.processes import LOOPBACK, free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
APP = "bench.apps:create_flowhub_app"

MB = 1_000_000
FILE_BYTES = 10 * MB  # under MAX_UPLOAD_BYTES (10 MiB)
CONCURRENT = 10
THROUGHPUT_RATIO_MIN = 0.60
PEAK_RSS_MAX_MB = 250.0
BOUNDARY = "----FlowHubBenchBoundary0123456789"
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def payload(size: int) -> bytes:
    return PNG_HEAD + os.urandom(size - len(PNG_HEAD))


def multipart_body(data: bytes) -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="bench.png"\r\nContent-Type: image/png\r\n\r\n'
    ).encode()
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


class Tokens:
    """Access tokens the server accepts, minted with its secret: a new user for each."""

    def __init__(self, secret: str) -> None:
        from adapters.jwt.access_tokens import JwtAccessTokenCodec

        self._codec = JwtAccessTokenCodec(secret)

    def new(self) -> str:
        user = uuid.uuid4().hex
        return self._codec.issue(user, uuid.uuid4().hex, datetime.now(UTC)).token


def api_upload(port: int, token: str, body: bytes) -> tuple[int, float]:
    """(status, seconds) of one POST /api/v1/files."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=120)
    started = time.perf_counter()
    try:
        connection.request(
            "POST",
            "/api/v1/files",
            body=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            },
        )
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        connection.close()


@dataclass(slots=True)
class Series:
    name: str
    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def mb_per_s(self, size: int) -> float | None:
        total = sum(self.seconds)
        return len(self.seconds) * size / MB / total if total else None

    def median_ms(self) -> float | None:
        return statistics.median(self.seconds) * 1000 if self.seconds else None


@dataclass(slots=True)
class Concurrent:
    statuses: list[int] = field(default_factory=list)
    wall_s: float = 0.0
    before_kib: int = 0
    peak_kib: int = 0
    hwm_kib: int | None = None


@dataclass(slots=True)
class Report:
    uploads: int
    api: Series = field(default_factory=lambda: Series("POST /api/v1/files"))
    direct: Series = field(default_factory=lambda: Series("PutObject to the bucket"))
    concurrent: Concurrent = field(default_factory=Concurrent)
    idle_kib: int = 0
    notes: list[str] = field(default_factory=list)


def run(report: Report, deadline: Deadline, logs: Path) -> None:
    import boto3  # type: ignore[import-untyped]

    progress("starting redis-server, mongoeco and moto")
    base = bench_env(pyc_cache=True)
    with production_services(base, logs) as services:
        env = {**production_env(services), "LOG_LEVEL": "WARNING"}
        s3 = boto3.client(
            "s3",
            endpoint_url=services.aws_endpoint_url,
            region_name=AWS_REGION,
            aws_access_key_id=AWS_ACCESS_KEY_ID,
            aws_secret_access_key=AWS_SECRET_ACCESS_KEY,
        )
        port = free_port()
        log_path = logs / "flowhub.log"
        server, started = spawn(
            "flowhub-prod", uvicorn_command(APP, port), env=base | env, log_path=log_path, port=port
        )
        with server:
            wait_first_ok(server, port, "/health", started, Deadline(deadline.bound(60)))
            tokens = Tokens(env["JWT_SECRET"])
            data = payload(FILE_BYTES)
            body = multipart_body(data)

            def direct_put(key: str) -> float:
                begun = time.perf_counter()
                s3.put_object(Bucket=S3_BUCKET_NAME, Key=key, Body=data, ContentType="image/png")
                return time.perf_counter() - begun

            # warm-up: the server opens its S3 and MongoDB clients on first use
            status, _ = api_upload(port, tokens.new(), body)
            if status != 201:
                raise RuntimeError(f"the warm-up upload answered {status}")
            direct_put("bench/direct/warm")
            time.sleep(1.0)
            report.idle_kib = status_kib(server.pid, ("VmRSS",)).get("VmRSS", 0)

            for n in range(report.uploads):
                if deadline.remaining() < 30:
                    report.notes.append(f"throughput stopped after {n} uploads: time budget")
                    break
                status, seconds = api_upload(port, tokens.new(), body)
                if status == 201:
                    report.api.seconds.append(seconds)
                else:
                    report.api.failures.append(str(status))
                report.direct.seconds.append(direct_put(f"bench/direct/{n}"))
                progress(
                    f"upload {n + 1}/{report.uploads}: API {seconds * 1000:.0f} ms, "
                    f"direct {report.direct.seconds[-1] * 1000:.0f} ms"
                )

            time.sleep(1.0)
            measure_concurrent(report.concurrent, server.pid, port, tokens, body)
            progress(
                f"{CONCURRENT} concurrent: peak RSS {report.concurrent.peak_kib / 1024:.1f} MiB, "
                f"statuses {sorted(set(report.concurrent.statuses))}"
            )
            server.stop()
        report.notes.extend(log_problems(log_path))


def measure_concurrent(
    result: Concurrent, pid: int, port: int, tokens: Tokens, body: bytes
) -> None:
    barrier = threading.Barrier(CONCURRENT + 1)
    statuses: list[int] = []
    lock = threading.Lock()
    issued = [tokens.new() for _ in range(CONCURRENT)]

    def one(token: str) -> None:
        barrier.wait()
        try:
            status, _ = api_upload(port, token, body)
        except OSError:
            status = 0
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one, args=(t,), daemon=True) for t in issued]
    for thread in threads:
        thread.start()
    result.before_kib = status_kib(pid, ("VmRSS",)).get("VmRSS", 0)
    hwm_reset = reset_peak_rss(pid)
    with RssSampler(pid, interval_s=0.02) as sampler:
        begun = time.perf_counter()
        barrier.wait()
        for thread in threads:
            thread.join(180)
        result.wall_s = time.perf_counter() - begun
    result.statuses = statuses
    result.peak_kib = sampler.peak_kib
    if hwm_reset:
        result.hwm_kib = status_kib(pid, ("VmHWM",)).get("VmHWM")


def render(report: Report, elapsed_s: float) -> str:
    def num(value: float | None, digits: int = 1) -> str:
        return "–" if value is None else f"{value:,.{digits}f}"

    api_rate = report.api.mb_per_s(FILE_BYTES)
    direct_rate = report.direct.mb_per_s(FILE_BYTES)
    ratio = api_rate / direct_rate if api_rate and direct_rate else None
    c = report.concurrent
    peak_mb = c.peak_kib * 1024 / MB
    lines = [
        f"# FlowHub files benchmark ({time.strftime('%Y-%m-%d %H:%M')})",
        "",
        f"Revision {git_revision(ROOT)}; Python {sys.version.split()[0]}; "
        f"{os.cpu_count()} CPUs; production shape (MongoDB: mongoeco, Redis: redis-server, "
        f"S3: moto in the bench process); uvicorn. {elapsed_s:.0f} s.",
        "",
        f"## Upload throughput ({len(report.api.seconds)} x {FILE_BYTES // MB} MB, sequential)",
        "",
        *markdown_table(
            ["path", "MB/s", "median ms", "failures"],
            [
                [
                    s.name,
                    num(s.mb_per_s(FILE_BYTES)),
                    num(s.median_ms(), 0),
                    ", ".join(s.failures) or "0",
                ]
                for s in (report.api, report.direct)
            ],
        ),
        "",
        f"API / direct: **{num(ratio, 2)}** (target >= {THROUGHPUT_RATIO_MIN:.2f}: "
        f"{'pass' if ratio is not None and ratio >= THROUGHPUT_RATIO_MIN else 'FAIL'})",
        "",
        f"## Memory during {CONCURRENT} concurrent {FILE_BYTES // MB} MB uploads",
        "",
        *markdown_table(
            [
                "idle RSS MiB",
                "RSS before MiB",
                "peak RSS MiB (20 ms samples)",
                "VmHWM MiB",
                "wall s",
                "statuses",
            ],
            [
                [
                    num(report.idle_kib / 1024),
                    num(c.before_kib / 1024),
                    num(c.peak_kib / 1024),
                    num(None if c.hwm_kib is None else c.hwm_kib / 1024),
                    num(c.wall_s, 2),
                    " ".join(f"{s}x{c.statuses.count(s)}" for s in sorted(set(c.statuses))),
                ]
            ],
        ),
        "",
        f"Peak {peak_mb:.0f} MB (target < {PEAK_RSS_MAX_MB:.0f} MB: "
        f"{'pass' if c.peak_kib and peak_mb < PEAK_RSS_MAX_MB else 'FAIL'})",
    ]
    if report.notes:
        lines += ["", "Notes:", *(f"- {note}" for note in report.notes)]
    return "\n".join(lines) + "\n"


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--uploads", type=int, default=None, help="sequential uploads each way")
    parser.add_argument("--quick", action="store_true", help="5 uploads each way")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds for the whole run")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    report = Report(uploads=args.uploads or (5 if args.quick else 15))
    deadline = Deadline(args.budget)
    began = time.monotonic()
    RESULTS.mkdir(parents=True, exist_ok=True)
    failed = False
    with tempfile.TemporaryDirectory(prefix="flowhub-bench-files-") as logs:
        try:
            run(report, deadline, Path(logs))
        except KeyboardInterrupt:
            report.notes.append("interrupted: the results are partial")
            failed = True
        except Exception as error:
            report.notes.append(f"failed: {type(error).__name__}: {error}")
            failed = True
    text = render(report, time.monotonic() - began)
    path = RESULTS / f"files-{time.strftime('%Y%m%d-%H%M%S')}.md"
    path.write_text(text)
    print(text)
    progress(f"written to {path.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
