"""The real-looking services behind FlowHub's production shape, all on loopback:
redis-server, mongoeco's MongoDB wire server (tests/support/mongoeco_server.py, in a process of
its own) and moto's S3/SES server (a thread of this process); the environment a benchmarked
server gets; what Redis counted (INFO, MONITOR) and what moto's SES accepted."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from bench.harness import LOOPBACK, Deadline, Process, free_port

ROOT = Path(__file__).resolve().parent.parent
PYCACHE = ROOT / "bench" / "results" / ".pycache"
MONGOECO_SERVER = ROOT / "tests" / "support" / "mongoeco_server.py"

AWS_REGION = "ap-south-1"
AWS_ACCESS_KEY_ID = "AKIAFLOWHUBBENCH0001"
AWS_SECRET_ACCESS_KEY = "bench/flowhub/secret/access/key/00000001"  # noqa: S105 (a dummy)
S3_BUCKET_NAME = "flowhub-bench-files"
FROM_EMAIL = "no-reply@flowhub.example.com"


# Variables FlowHub reads: never inherited from the calling shell, each target sets its own.
FLOWHUB_VARS = frozenset({
    "APP_ENV", "PORT", "LOG_LEVEL", "APP_VERSION", "FLY_IMAGE_REF", "MONGODB_URI", "REDIS_URL",
    "JWT_SECRET", "JWT_REFRESH_SECRET", "S3_BUCKET_NAME", "FROM_EMAIL", "ROLLBAR_TOKEN",
    "LOGTAIL_TOKEN", "CORS_ORIGINS", "MAX_UPLOAD_BYTES", "MAX_JSON_BYTES", "SHUTDOWN_TIMEOUT_S",
    "HEALTH_CHECK_TIMEOUT_S", "ROLLBAR_ENDPOINT", "LOGTAIL_HOST", "ERROR_BUDGET_PER_DAY",
    "MESSAGE_RETENTION_DAYS", "ALLOWED_CONTENT_TYPES", "MAX_IN_FLIGHT_REQUESTS",
})  # fmt: skip


class ServiceError(RuntimeError):
    pass


def bench_env(pyc_cache: bool) -> dict[str, str]:
    """This process's environment without anything FlowHub or AWS clients would read.

    With `pyc_cache`, bytecode is cached under bench/results/.pycache, as a production image
    compiles it (this machine sets PYTHONDONTWRITEBYTECODE)."""
    env = {
        k: v for k, v in os.environ.items() if k not in FLOWHUB_VARS and not k.startswith("AWS_")
    }
    if pyc_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


@dataclass(frozen=True, slots=True)
class Services:
    mongodb_uri: str
    redis_url: str
    aws_endpoint_url: str
    redis_port: int
    pids: Mapping[str, int]  # "mongoeco", "redis-server" (moto is a thread of this process)


def production_env(services: Services) -> dict[str, str]:
    """Every variable production requires, valid, pointing at the local services."""
    jwt_secret = secrets.token_urlsafe(36)  # 48 characters
    jwt_refresh_secret = secrets.token_urlsafe(36)
    return {
        "APP_ENV": "production",
        "APP_VERSION": "bench",
        "LOG_LEVEL": "WARNING",
        "MONGODB_URI": services.mongodb_uri,
        "REDIS_URL": services.redis_url,
        "JWT_SECRET": jwt_secret,
        "JWT_REFRESH_SECRET": jwt_refresh_secret,
        "AWS_ACCESS_KEY_ID": AWS_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET_ACCESS_KEY,
        "AWS_REGION": AWS_REGION,
        "AWS_SES_REGION": AWS_REGION,
        "AWS_ENDPOINT_URL": services.aws_endpoint_url,
        "S3_BUCKET_NAME": S3_BUCKET_NAME,
        "FROM_EMAIL": FROM_EMAIL,
        "ROLLBAR_TOKEN": "bench0rollbar0token0000000000000",
        "LOGTAIL_TOKEN": "bench0logtail0token0000",
        # The sinks stay on this machine: a loopback port nobody listens on (they refuse and
        # count) unless a benchmark points them at its capture server. Never the real services.
        "ROLLBAR_ENDPOINT": "http://127.0.0.1:9/api/1/",
        "LOGTAIL_HOST": "http://127.0.0.1:9",
        "CORS_ORIGINS": "https://app.example.com",
    }


@contextlib.contextmanager
def production_services(
    env: Mapping[str, str], logs: Path, deadline: Deadline
) -> Iterator[Services]:
    """Start the three services (MongoDB first: its import is the slowest) and stop them all at
    exit, whatever happens in between."""
    with contextlib.ExitStack() as stack:
        mongo = stack.enter_context(
            Process(
                "mongoeco",
                [sys.executable, str(MONGOECO_SERVER), "--host", LOOPBACK, "--port", "0"],
                env=env,
                cwd=ROOT,
                log_path=logs / "mongoeco.log",
                stdin=subprocess.PIPE,  # the server also stops when this pipe closes
                stdout_pipe=True,
            )
        )
        redis_port = free_port()
        redis_command = [
            "redis-server", "--port", str(redis_port), "--bind", LOOPBACK,
            "--save", "", "--appendonly", "no",
        ]  # fmt: skip
        redis = stack.enter_context(
            Process(
                "redis-server",
                redis_command,
                env=env,
                cwd=ROOT,
                log_path=logs / "redis.log",
            )
        )
        aws_endpoint_url = stack.enter_context(_moto_server())
        _provision_aws(aws_endpoint_url)
        _wait_redis(redis, redis_port, deadline)
        mongodb_uri = _read_first_line(mongo, deadline)
        if not mongodb_uri.startswith("mongodb://"):
            raise ServiceError(f"mongoeco printed {mongodb_uri!r}, not a mongodb:// URI")
        yield Services(
            mongodb_uri,
            f"redis://{LOOPBACK}:{redis_port}/0",
            aws_endpoint_url,
            redis_port,
            {"mongoeco": mongo.pid, "redis-server": redis.pid},
        )


@contextlib.contextmanager
def _moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on stderr
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _provision_aws(endpoint_url: str) -> None:
    """The bucket and the sender identity production would have."""
    import boto3  # type: ignore[import-untyped]

    options = {
        "endpoint_url": endpoint_url,
        "region_name": AWS_REGION,
        "aws_access_key_id": AWS_ACCESS_KEY_ID,
        "aws_secret_access_key": AWS_SECRET_ACCESS_KEY,
    }
    boto3.client("s3", **options).create_bucket(
        Bucket=S3_BUCKET_NAME, CreateBucketConfiguration={"LocationConstraint": AWS_REGION}
    )
    boto3.client("ses", **options).verify_email_identity(EmailAddress=FROM_EMAIL)


def _wait_redis(process: Process, port: int, deadline: Deadline) -> None:
    limit = Deadline(deadline.bound(15.0))
    while not limit.expired:
        if process.exited:
            raise ServiceError(f"redis-server exited:\n{process.log_tail()}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection((LOOPBACK, port), timeout=1.0) as sock,
        ):
            sock.sendall(b"PING\r\n")
            if sock.recv(64).startswith(b"+PONG"):
                return
        time.sleep(0.02)
    raise ServiceError("redis-server did not answer PING in time")


def _read_first_line(process: Process, deadline: Deadline) -> str:
    stdout = process.popen.stdout
    if stdout is None:
        raise ServiceError(f"{process.name}: no stdout pipe")
    limit = Deadline(deadline.bound(30.0))
    line = b""
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            if limit.expired or not selector.select(timeout=limit.remaining()):
                raise ServiceError(f"{process.name} printed no address in time")
            chunk = os.read(stdout.fileno(), 256)
            if not chunk:
                raise ServiceError(f"{process.name} exited:\n{process.log_tail()}")
            line += chunk
    return line.decode().strip()


# --- what the services saw ----------------------------------------------------------------------


def _resp_command(*args: str) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _read_line(sock: socket.socket, buffer: bytearray) -> bytes:
    while b"\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ServiceError("redis closed the connection")
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\r\n")
    buffer[:] = rest
    return line


def redis_info(port: int, *sections: str) -> dict[str, str]:
    """`INFO <sections>` of the redis-server on `port`, as `field: value` (one call, so it adds
    exactly one `info` to the server's counters)."""
    with socket.create_connection((LOOPBACK, port), timeout=5.0) as sock:
        sock.sendall(_resp_command("INFO", *sections))
        buffer = bytearray()
        header = _read_line(sock, buffer)
        if not header.startswith(b"$"):
            raise ServiceError(f"INFO answered {header[:80]!r}")
        size = int(header[1:])
        while len(buffer) < size:
            chunk = sock.recv(65536)
            if not chunk:
                raise ServiceError("redis closed the connection during INFO")
            buffer += chunk
    info: dict[str, str] = {}
    for line in bytes(buffer[:size]).decode().splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith("#"):
            info[key] = value
    return info


def command_calls(info: Mapping[str, str]) -> dict[str, int]:
    """Calls per command from `INFO commandstats` (`cmdstat_evalsha:calls=3,usec=...`); commands
    run by Lua scripts are counted too."""
    calls: dict[str, int] = {}
    for key, value in info.items():
        if key.startswith("cmdstat_"):
            fields = dict(item.split("=", 1) for item in value.split(","))
            calls[key.removeprefix("cmdstat_")] = int(fields["calls"])
    return calls


class RedisMonitor:
    """`MONITOR` on a connection of its own, on a thread: counts every command redis-server
    runs by (source, command), source being "client" (sent over a connection) or "lua" (run
    by a script). MONITOR costs the server time: only for counting, never while timing."""

    def __init__(self, port: int) -> None:
        self.counts: dict[tuple[str, str], int] = {}
        self._sock = socket.create_connection((LOOPBACK, port), timeout=5.0)
        self._buffer = bytearray()
        self._sock.sendall(_resp_command("MONITOR"))
        if _read_line(self._sock, self._buffer) != b"+OK":
            self._sock.close()
            raise ServiceError("redis refused MONITOR")
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="redis-monitor", daemon=True)
        self._thread.start()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, drain_s: float = 0.3) -> None:
        """Stop after `drain_s` more of reading (the lines of the last commands may still be
        on their way)."""
        if not self._stop.is_set():
            time.sleep(drain_s)
            self._stop.set()
            self._thread.join(timeout=2.0)
            self._sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                line = _read_line(self._sock, self._buffer)
            except (TimeoutError, OSError, ServiceError):
                continue
            self._count(line.decode(errors="replace"))

    def _count(self, line: str) -> None:
        # +1700000000.123456 [0 127.0.0.1:53422] "evalsha" "..."   |   [0 lua] "INCR" "..."
        source_end = line.find("] ")
        if not line.startswith("+") or source_end < 0:
            return
        source = "lua" if line[:source_end].endswith(" lua") else "client"
        command = line[source_end + 2 :].split(" ", 1)[0].strip('"').lower()
        self.counts[source, command] = self.counts.get((source, command), 0) + 1


def moto_sent_messages(endpoint_url: str) -> list[dict[str, Any]]:
    """Every message moto's SES accepted, from its state dump (as tests/support/moto.py)."""
    import httpx

    response = httpx.get(f"{endpoint_url}/moto-api/data.json", timeout=10.0)
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json().get("ses", {}).get("Message", [])
    return messages
