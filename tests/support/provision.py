"""The services behind FlowHub's integration shape, each a child process on a loopback port
(no pytest here): redis-server, mongoeco's MongoDB wire server (devtools/mongoeco_server.py,
in memory here) and moto's S3/SES server (moto_server.py). Used by the pytest plugin
(tests/support/services.py), the fault tests and the benchmarks.

A service can be stopped, paused with SIGSTOP, resumed and restarted on the same port while
traffic runs; a restart starts empty (none of the three persists anything). The port is the
service's own choice where it can announce it (mongoeco and moto print their URL), so no other
process can take it between a free-port probe and the bind.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from devtools.dev import first_line
from tests.support.processes import LOOPBACK, ROOT, ServerProcess, free_port, http_get

MONGOECO_SERVER = ROOT / "devtools" / "mongoeco_server.py"

BUCKET = "flowhub-faults"
AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "ap-south-1",
}
SECRETS = {"JWT_SECRET": "j" * 40, "JWT_REFRESH_SECRET": "r" * 40}


class ServiceError(RuntimeError):
    pass


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.2):
        return True
    return False


class Service:
    """One service process; `restart()` brings a new one up on the same port."""

    name = "service"
    announces = False  # prints its URL as the first line of its stdout

    def __init__(self, workdir: Path, env: Mapping[str, str] | None = None) -> None:
        self.workdir = workdir
        self.env = dict(env if env is not None else os.environ) | {"PYTHONPATH": str(ROOT)}
        self.port = 0  # 0 until the first start: the service picks, or a free one is probed
        self.server: ServerProcess | None = None

    # what differs per service
    def argv(self, port: int) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def verify(self) -> None:
        """Raise `_PortTaken` if what answers is not the process started here."""

    def provision(self) -> None:
        """What must exist in a fresh service (a bucket)."""

    @property
    def url(self) -> str:
        raise NotImplementedError

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout_s: float = 30.0) -> None:
        fixed = self.port != 0
        for _attempt in range(3):  # a probed free port may be taken before the service binds it
            port = self.port or (0 if self.announces else free_port())
            self.server = ServerProcess(
                self.argv(port),
                env=self.env,
                port=port,
                log_path=self.log_path,
                name=self.name,
                stdin=subprocess.PIPE if self.announces else subprocess.DEVNULL,
                stdout_pipe=self.announces,
                watched=not self.announces,  # the helpers stop themselves when stdin closes
            )
            try:
                if self.announces:
                    announced = urlsplit(self._first_line(timeout_s)).port
                    assert announced is not None
                    port = self.server.port = announced
                self.port = port
                self._wait_ready(timeout_s)
                self.verify()
            except _PortTaken:
                self.server.stop()
                if fixed:
                    raise
                self.port = 0
                continue
            except BaseException:
                self.server.stop()
                raise
            self.provision()
            return
        raise ServiceError(f"{self.name} found no free port: {self.log_tail()}")

    def _wait_ready(self, timeout_s: float) -> None:
        assert self.server is not None
        deadline = time.monotonic() + timeout_s
        while not self.ready():
            if self.server.exited:
                if "Address already in use" in self.log_tail():
                    raise _PortTaken(self.log_tail())
                raise ServiceError(f"{self.name} exited: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} did not come up: {self.log_tail()}")
            time.sleep(0.02)

    def _first_line(self, timeout_s: float) -> str:
        assert self.server is not None and self.server.process.stdout is not None
        try:
            return first_line(self.server.process.stdout, timeout_s)
        except TimeoutError:
            raise TimeoutError(f"{self.name} printed no address: {self.log_tail()}") from None
        except EOFError:
            raise ServiceError(f"{self.name} exited: {self.log_tail()}") from None

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-2000:]
        return ""

    @property
    def pid(self) -> int:
        assert self.server is not None
        return self.server.pid

    @property
    def paused(self) -> bool:
        return self.server is not None and self.server.paused

    def kill(self) -> None:
        """Down hard: SIGKILL, no goodbye (connections reset, the port refuses)."""
        if self.server is not None:
            self.server.kill()

    def pause(self) -> None:
        """Hanging: SIGSTOP. The kernel still accepts connections; nothing answers."""
        assert self.server is not None
        self.server.pause()

    def resume(self) -> None:
        assert self.server is not None
        self.server.resume()

    def restart(self, down_s: float = 0.0) -> None:
        self.kill()
        time.sleep(down_s)
        self.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


class _PortTaken(OSError):
    """The probed free port was taken before the service could bind it."""


class RedisServer(Service):
    """redis-server without persistence, loopback only."""

    name = "redis"

    def __init__(self, workdir: Path, env: Mapping[str, str] | None = None) -> None:
        super().__init__(workdir, env)
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError(
                "redis-server is not on PATH (make services installs it; macOS: brew install redis)"
            )
        self.binary = binary

    def argv(self, port: int) -> list[str]:
        return [
            self.binary, "--port", str(port), "--bind", LOOPBACK, "--save", "",
            "--appendonly", "no", "--dir", str(self.workdir), "--daemonize", "no",
        ]  # fmt: skip

    def ready(self) -> bool:
        return redis_answers(self.port)

    def verify(self) -> None:
        # Whatever answers must be the process started here, not one that took the port first.
        if redis_info(self.port, "server").get("process_id") != str(self.pid):
            raise _PortTaken(f"another server answers on {LOOPBACK}:{self.port}")

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"


class MongoecoServer(Service):
    """mongoeco's wire server (in memory): a restart loses every document."""

    name = "mongoeco"
    announces = True

    def __init__(
        self, workdir: Path, env: Mapping[str, str] | None = None, database: str = "flowhub"
    ) -> None:
        super().__init__(workdir, env)
        self.database = database

    def argv(self, port: int) -> list[str]:
        return [sys.executable, str(MONGOECO_SERVER), "--host", LOOPBACK, "--port", str(port)]

    def ready(self) -> bool:
        return _port_open(self.port)

    @property
    def url(self) -> str:
        return f"mongodb://{LOOPBACK}:{self.port}/{self.database}?directConnection=true"


class MotoServer(Service):
    """moto's S3/SES (in memory): a restart loses every object; the bucket is made again."""

    name = "moto"
    announces = True

    def __init__(
        self, workdir: Path, env: Mapping[str, str] | None = None, bucket: str | None = BUCKET
    ) -> None:
        super().__init__(workdir, env)
        self.bucket = bucket

    def argv(self, port: int) -> list[str]:
        # as a module: run as a script, tests/support/moto.py would shadow the moto package
        return [sys.executable, "-m", "tests.support.moto_server", "--port", str(port)]

    def ready(self) -> bool:
        if not _port_open(self.port):
            return False
        with contextlib.suppress(OSError, http.client.HTTPException):
            return http_get(self.port, "/moto-api/data.json", timeout=2)[0] == 200
        return False

    def provision(self) -> None:
        if self.bucket is None:
            return
        conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=5)
        try:
            conn.request(
                "PUT",
                f"/{self.bucket}",
                body=b"<CreateBucketConfiguration><LocationConstraint>ap-south-1"
                b"</LocationConstraint></CreateBucketConfiguration>",
            )
            response = conn.getresponse()
            text = response.read()
        finally:
            conn.close()
        if response.status not in (200, 409):
            raise ServiceError(f"moto refused the bucket: {response.status} {text[:200]!r}")

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"


@contextlib.contextmanager
def start_services(
    *kinds: Callable[[Path], Service], workdir: Path | None = None
) -> Iterator[list[Service]]:
    """Start one service of each kind, in parallel (mongoeco and moto import for ~1-2 s), and
    stop them all at exit."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="services-")))
        services = [kind(workdir) for kind in kinds]
        errors: list[BaseException] = []
        for service in services:
            stack.callback(service.stop)

        def start(service: Service) -> None:
            try:
                service.start()
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=start, args=(s,), daemon=True) for s in services]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        if errors:
            raise errors[0]
        for service in services:
            if not service.ready():
                raise ServiceError(f"{service.name} did not start: {service.log_tail()}")
        yield services


# the Socket.IO caps lifted for load: many sockets of one user and one address, fast senders
BENCH_SOCKET_CAPS = {
    "SOCKETS_PER_USER": "100000",
    "SOCKETS_PER_IP": "100000",
    "SOCKET_EVENTS_PER_10S": "100000",
}


def app_env(
    *,
    redis: Service | str | None = None,
    mongo: Service | str | None = None,
    moto: Service | None = None,
    **extra: str,
) -> dict[str, str]:
    """The integration shape: the given services real, mail in memory (the dev mailbox)."""
    # Simulated users come from 127.0.0.1, each with its own Fly-Client-IP, as behind Fly's
    # proxy; their load is not one client's, so no per-address share of the places, and the
    # benchmarks' idle sockets and message floods are not refused by the Socket.IO caps.
    env = {
        "APP_ENV": "development",
        "LOG_LEVEL": "WARNING",
        "TRUSTED_PROXY": "fly",
        "MAX_IN_FLIGHT_PER_CLIENT": "100000",
        **BENCH_SOCKET_CAPS,
        **SECRETS,
    }
    if redis is not None:
        env["REDIS_URL"] = redis if isinstance(redis, str) else redis.url
    if mongo is not None:
        env["MONGODB_URI"] = mongo if isinstance(mongo, str) else mongo.url
    if moto is not None:
        env |= {**AWS, "S3_BUCKET_NAME": BUCKET, "AWS_ENDPOINT_URL_S3": moto.url}
    return env | extra


# --- Redis without a client library -------------------------------------------------------------


def redis_answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.5) as s:
        s.settimeout(0.5)
        s.sendall(b"PING\r\n")
        return s.recv(16).startswith(b"+PONG")
    return False


def resp_command(*args: str) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def read_resp_line(sock: socket.socket, buffer: bytearray) -> bytes:
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
        sock.sendall(resp_command("INFO", *sections))
        buffer = bytearray()
        header = read_resp_line(sock, buffer)
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
