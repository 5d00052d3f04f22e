"""An oversized upload is cut off while it streams: a real server process (uvicorn, as
deployed) takes a 50 MB chunked upload and must answer 413 with its memory growing by less
than 20 MB. Memory is the process's VmRSS, sampled every 5 ms from /proc."""

from __future__ import annotations

import asyncio
import re
import select
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.api.auth_client import PASSWORD
from tests.api.files_client import BOUNDARY, MULTIPART, PNG, file_part, multipart
from tests.support.moto import reset_moto
from tests.support.processes import ServerProcess, http_json, running_server

pytestmark = pytest.mark.api

MB = 1_000_000
MIB = 1024 * 1024


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@contextmanager
def sampled_peak(pid: int) -> Iterator[list[int]]:
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(rss_kib(pid))
            stop.wait(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join(5)


def access_token(server: ServerProcess, email: str) -> str:
    status, _ = http_json(
        server.port, "POST", "/api/v1/auth/signup",
        {"email": email, "password": PASSWORD, "name": "Ada"},
    )  # fmt: skip
    assert status == 202
    for _ in range(100):
        status, box = http_json(server.port, "GET", f"/api/v1/dev/mailbox?to={quote(email)}")
        if box["messages"]:
            break
        time.sleep(0.05)
    match = re.search(r"\b(\d{6})\b", box["messages"][0]["text"])
    assert match
    status, pair = http_json(
        server.port, "POST", "/api/v1/auth/verify-email", {"email": email, "code": match[1]}
    )
    assert status == 200
    return str(pair["access_token"])


def _read_status(sock: socket.socket) -> int:
    sock.settimeout(30)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1])


def post_chunked(
    port: int, token: str, first: bytes, filler: int, last: bytes, *, chunk: int = 64 * 1024
) -> tuple[int, int]:
    """POST /api/v1/files with a chunked body: `first`, `filler` zero bytes, `last`. Stops
    sending as soon as the server answers. Returns (status, bytes sent)."""
    head = (
        f"POST /api/v1/files HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: {MULTIPART}\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    block = b"\x00" * chunk
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)

        def send(piece: bytes) -> bool:
            nonlocal sent
            if select.select([sock], [], [], 0)[0]:
                return False  # the server has answered: stop
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            except (BrokenPipeError, ConnectionResetError):
                return False
            sent += len(piece)
            return True

        going = send(first)
        remaining = filler
        while going and remaining > 0:
            going = send(block[: min(chunk, remaining)])
            remaining -= chunk
        if going and send(last):
            sock.sendall(b"0\r\n\r\n")
        return _read_status(sock), sent


def upload_50_mb(env: Mapping[str, str]) -> tuple[int, int, int, int]:
    """(status, bytes sent, growth in KiB, max upload) of a 50 MB upload to a fresh server."""
    with running_server(env={"LOG_LEVEL": "WARNING", **env}) as server:
        token = access_token(server, "ada@example.com")
        body = multipart(file_part(PNG, "warm.png", "image/png"))
        first = body[: body.index(PNG) + 8]
        # A small upload first, so that the code on the upload path is loaded and warm.
        assert post_chunked(server.port, token, body, 0, b"")[0] == 201
        pid = server.process.pid
        baseline = rss_kib(pid)
        with sampled_peak(pid) as samples:
            status, sent = post_chunked(
                server.port, token, first, 50 * MB, f"\r\n--{BOUNDARY}--\r\n".encode()
            )
        return status, sent, max(samples) - baseline, baseline


def test_a_50_mb_upload_is_cut_off_with_the_server_growing_less_than_20_mb() -> None:
    status, sent, growth_kib, baseline_kib = upload_50_mb({})

    assert status == 413
    assert growth_kib < 20 * 1024, f"RSS grew {growth_kib} KiB from {baseline_kib} KiB"
    assert sent < 50 * MB, f"the server read all {sent} bytes before answering"


def test_on_s3_the_cut_off_upload_leaves_nothing_in_the_bucket(aws_endpoint_url: str) -> None:
    import boto3  # type: ignore[import-untyped]

    bucket = "flowhub-files-memory-test"
    s3 = boto3.client(
        "s3",
        endpoint_url=aws_endpoint_url,
        region_name="ap-south-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    env = {
        "S3_BUCKET_NAME": bucket,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "ap-south-1",
        "AWS_ENDPOINT_URL": aws_endpoint_url,
    }

    try:
        status, sent, growth_kib, baseline_kib = upload_50_mb(env)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    finally:
        asyncio.run(reset_moto(aws_endpoint_url))

    assert status == 413
    assert growth_kib < 20 * 1024, f"RSS grew {growth_kib} KiB from {baseline_kib} KiB"
    assert sent < 50 * MB
    assert len(keys) == 1  # the warm-up upload only
    assert uploads == []
