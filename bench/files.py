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
  VmRSS sampled every 20 ms (peak) and its VmHWM after a reset (target: peak < 250 MB);
- multipart (`--multipart-only` runs just this): a 200 MiB resumable upload (`POST
  /files/multipart`, presigned part PUTs straight to moto, 4 at a time as a browser would, then
  complete: S3 assembles, the server checks and promotes) against one `PutObject` of the same
  bytes, each way `--multipart-runs` times; then the same upload interrupted after 50% of its
  parts and resumed (list what arrived, new URLs for the rest, upload them, complete): what the
  resume itself costs and the whole against an uninterrupted one.

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
MIB = 1024 * 1024
MULTIPART_BYTES = 200 * MIB
PART_PARALLEL = 4


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
class Multipart:
    runs: int = 0
    multipart_s: list[float] = field(default_factory=list)
    complete_s: list[float] = field(default_factory=list)  # of which: POST .../complete
    direct_s: list[float] = field(default_factory=list)
    copy_s: list[float] = field(default_factory=list)  # a CopyObject of the same size
    parts: int = 0
    resumed_total_s: float | None = None
    resume_overhead_s: float | None = None  # GET .../multipart: what arrived
    resumed_half_s: float | None = None  # the second half's parts and the completion
    exact: bool | None = None


@dataclass(slots=True)
class Report:
    uploads: int
    api: Series = field(default_factory=lambda: Series("POST /api/v1/files"))
    direct: Series = field(default_factory=lambda: Series("PutObject to the bucket"))
    concurrent: Concurrent = field(default_factory=Concurrent)
    multipart: Multipart = field(default_factory=Multipart)
    multipart_only: bool = False
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

            if report.multipart_only:
                measure_multipart(report.multipart, port, tokens, s3, deadline)
                server.stop()
                report.notes.extend(log_problems(log_path))
                return
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
            measure_multipart(report.multipart, port, tokens, s3, deadline)
            server.stop()
        report.notes.extend(log_problems(log_path))


class MultipartClient:
    """A front end's resumable upload: JSON calls to the API, part PUTs to the part URLs."""

    def __init__(self, port: int, token: str) -> None:
        import httpx

        self.api = httpx.Client(
            base_url=f"http://{LOOPBACK}:{port}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=300,
        )
        self.storage = httpx.Client(timeout=300)

    def close(self) -> None:
        self.api.close()
        self.storage.close()

    def call(
        self, method: str, path: str, body: object = None, expect: int = 200
    ) -> dict[str, Any]:
        response = self.api.request(method, path, json=body)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        answer: dict[str, Any] = response.json()
        return answer

    def start(self, size: int) -> dict[str, Any]:
        body = {"name": "big.png", "size": size, "content_type": "image/png"}
        return self.call("POST", "/files/multipart", body, expect=201)

    def send(self, file_id: str, data: bytes, part_size: int, numbers: list[int]) -> None:
        urls = self.call("POST", f"/files/{file_id}/multipart/parts", {"part_numbers": numbers})

        def put(entry: dict[str, Any]) -> None:
            n = entry["part_number"]
            response = self.storage.put(
                entry["url"], content=data[(n - 1) * part_size : n * part_size]
            )
            if response.status_code != 200:
                raise RuntimeError(f"part {n}: {response.status_code} {response.text[:200]}")

        with ThreadPoolExecutor(PART_PARALLEL) as pool:
            list(pool.map(put, urls["parts"]))

    def complete(self, file_id: str) -> dict[str, Any]:
        listed = self.call("GET", f"/files/{file_id}/multipart")
        parts = [{"part_number": p["part_number"], "etag": p["etag"]} for p in listed["parts"]]
        return self.call("POST", f"/files/{file_id}/multipart/complete", {"parts": parts})


def measure_multipart(
    result: Multipart, port: int, tokens: Tokens, s3: Any, deadline: Deadline
) -> None:
    data = payload(MULTIPART_BYTES)
    for n in range(result.runs):
        if deadline.remaining() < 60:
            break
        client = MultipartClient(port, tokens.new())
        try:
            begun = time.perf_counter()
            started = client.start(len(data))
            file_id, part_size = started["file"]["id"], started["part_size"]
            result.parts = started["part_count"]
            client.send(file_id, data, part_size, list(range(1, result.parts + 1)))
            completing = time.perf_counter()
            ready = client.complete(file_id)
            done = time.perf_counter()
            if ready["status"] != "ready" or ready["size"] != len(data):
                raise RuntimeError(f"the multipart upload ended {ready}")
            result.multipart_s.append(done - begun)
            result.complete_s.append(done - completing)
        finally:
            client.close()
        begun = time.perf_counter()
        s3.put_object(
            Bucket=S3_BUCKET_NAME, Key=f"bench/direct/big-{n}", Body=data, ContentType="image/png"
        )
        result.direct_s.append(time.perf_counter() - begun)
        begun = time.perf_counter()  # what the promotion from the staging key costs
        s3.copy_object(
            Bucket=S3_BUCKET_NAME,
            Key=f"bench/copy/big-{n}",
            CopySource={"Bucket": S3_BUCKET_NAME, "Key": f"bench/direct/big-{n}"},
        )
        result.copy_s.append(time.perf_counter() - begun)
        progress(
            f"200 MiB {n + 1}/{result.runs}: multipart {result.multipart_s[-1]:.2f} s "
            f"(complete {result.complete_s[-1]:.2f} s), PutObject {result.direct_s[-1]:.2f} s"
        )
    if deadline.remaining() < 60:
        return
    client = MultipartClient(port, tokens.new())
    try:
        begun = time.perf_counter()
        started = client.start(len(data))
        file_id, part_size, count = (
            started["file"]["id"],
            started["part_size"],
            started["part_count"],
        )
        client.send(file_id, data, part_size, list(range(1, count // 2 + 1)))
        # the page reloads: it knows only the file's id
        resuming = time.perf_counter()
        listed = client.call("GET", f"/files/{file_id}/multipart")
        arrived = {p["part_number"] for p in listed["parts"]}
        rest = [n for n in range(1, listed["part_count"] + 1) if n not in arrived]
        result.resume_overhead_s = time.perf_counter() - resuming
        client.send(file_id, data, listed["part_size"], rest)  # asks for the rest's URLs
        client.complete(file_id)
        result.resumed_half_s = time.perf_counter() - resuming
        result.resumed_total_s = time.perf_counter() - begun
        got = client.call("GET", f"/files/{file_id}")
        downloaded = client.storage.get(got["download_url"]).content
        result.exact = downloaded == data
    finally:
        client.close()
    progress(
        f"resumed after 50%: total {result.resumed_total_s:.2f} s, resume "
        f"{result.resume_overhead_s * 1000:.0f} ms, exact bytes {result.exact}"
    )


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
    if report.multipart_only:
        lines = lines[:4]
    lines += render_multipart(report.multipart, num)
    if report.notes:
        lines += ["", "Notes:", *(f"- {note}" for note in report.notes)]
    return "\n".join(lines) + "\n"


def render_multipart(m: Multipart, num: Any) -> list[str]:
    if not m.multipart_s and m.resumed_total_s is None:
        return []
    mean = statistics.mean
    multipart = mean(m.multipart_s) if m.multipart_s else None
    direct = mean(m.direct_s) if m.direct_s else None
    complete = mean(m.complete_s) if m.complete_s else None
    copy = mean(m.copy_s) if m.copy_s else None
    size_mb = MULTIPART_BYTES / MB

    def rate(seconds: float | None) -> float | None:
        return size_mb / seconds if seconds else None

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a and b else None

    return [
        "",
        f"## Multipart upload of {MULTIPART_BYTES // MIB} MiB ({m.parts} parts of 8 MiB, "
        f"{PART_PARALLEL} PUTs at a time; mean of {len(m.multipart_s)})",
        "",
        *markdown_table(
            ["path", "s", "MB/s", "vs one PutObject (time)"],
            [
                [
                    "multipart through the API (start, part URLs, PUTs, complete)",
                    num(multipart, 2),
                    num(rate(multipart)),
                    num(ratio(multipart, direct), 2),
                ],
                [
                    "  of which complete (assemble, check, promote)",
                    num(complete, 2),
                    "",
                    num(ratio(complete, direct), 2),
                ],
                [
                    "  (a CopyObject of 200 MiB alone, what promoting it costs)",
                    num(copy, 2),
                    "",
                    num(ratio(copy, direct), 2),
                ],
                ["one PutObject of the same bytes", num(direct, 2), num(rate(direct)), "1.00"],
                [
                    "resumed after 50% (the whole upload)",
                    num(m.resumed_total_s, 2),
                    num(rate(m.resumed_total_s)),
                    num(ratio(m.resumed_total_s, direct), 2),
                ],
            ],
        ),
        "",
        f"Resume after 50%: listing what arrived (GET .../multipart) took "
        f"{num(None if m.resume_overhead_s is None else m.resume_overhead_s * 1000, 0)} ms "
        f"({num(ratio(m.resume_overhead_s, multipart), 4)} of an uninterrupted upload); the "
        f"second half with its completion {num(m.resumed_half_s, 2)} s; resumed / uninterrupted: "
        f"{num(ratio(m.resumed_total_s, multipart), 2)}; downloaded bytes exact: {m.exact}.",
    ]


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--uploads", type=int, default=None, help="sequential uploads each way")
    parser.add_argument("--quick", action="store_true", help="5 uploads each way")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds for the whole run")
    parser.add_argument("--multipart-runs", type=int, default=3, help="200 MiB uploads each way")
    parser.add_argument("--multipart-only", action="store_true", help="only the multipart part")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    report = Report(uploads=args.uploads or (5 if args.quick else 15))
    report.multipart.runs = args.multipart_runs
    report.multipart_only = args.multipart_only
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
