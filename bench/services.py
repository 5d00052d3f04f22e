"""FlowHub's production shape on loopback: the services (tests/support/provision.py's
redis-server, mongoeco and moto, provisioned as production's are), the environment a benchmarked
server gets, and what Redis counted (INFO commandstats, MONITOR)."""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from tests.support.processes import LOOPBACK
from tests.support.provision import (
    MongoecoServer,
    MotoServer,
    RedisServer,
    ServiceError,
    read_resp_line,
    resp_command,
    start_services,
)

ROOT = Path(__file__).resolve().parent.parent
PYCACHE = ROOT / "bench" / "results" / ".pycache"

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
    "MAX_IN_FLIGHT_PER_CLIENT", "TRUSTED_PROXY",
})  # fmt: skip


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
        "TRUSTED_PROXY": "fly",  # the load generators stand for clients behind Fly's proxy
        "MAX_IN_FLIGHT_PER_CLIENT": "100000",  # and their load is not one client's
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
def production_services(env: Mapping[str, str], logs: Path) -> Iterator[Services]:
    """Start the three services, provisioned as production's are, and stop them all at exit,
    whatever happens in between."""
    kinds = (
        functools.partial(MongoecoServer, env=env),
        functools.partial(RedisServer, env=env),
        functools.partial(MotoServer, env=env, bucket=None),
    )
    with start_services(*kinds, workdir=logs) as (mongo, redis, moto):
        _provision_aws(moto.url)
        yield Services(
            mongo.url,
            redis.url,
            moto.url,
            redis.port,
            {"mongoeco": mongo.pid, "redis-server": redis.pid},
        )


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


# --- what the services saw ----------------------------------------------------------------------


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
        self._sock.sendall(resp_command("MONITOR"))
        if read_resp_line(self._sock, self._buffer) != b"+OK":
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
                line = read_resp_line(self._sock, self._buffer)
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
