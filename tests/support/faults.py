"""Fault injection: services the test owns (redis-server, mongoeco's wire server, moto's server,
each a child process on a fixed loopback port) that it can stop, pause with SIGSTOP, resume and
restart while traffic runs; real FlowHub server processes whose output goes to a file (a pipe
nobody reads fills up and freezes a server that logs); and a traffic driver that records what
every request got.

Shared by tests/faults/ and the soak and load benchmarks (bench/soak.py, bench/load.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from tests.support.processes import ROOT, free_port

MONGOECO = ROOT / "tests" / "support" / "mongoeco_server.py"

BUCKET = "flowhub-faults"
AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "ap-south-1",
}
SECRETS = {"JWT_SECRET": "j" * 40, "JWT_REFRESH_SECRET": "r" * 40}


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


def _redis_answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5) as s:
        s.settimeout(0.5)
        s.sendall(b"PING\r\n")
        return s.recv(16).startswith(b"+PONG")
    return False


class OwnService:
    """A service process on a fixed port that survives being killed: `restart()` brings a new
    one up on the same port (with empty state: none of the three persists anything)."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.paused = False

    # what differs per service
    def argv(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def provision(self) -> None:
        """What must exist in a fresh service (a bucket)."""

    @property
    def url(self) -> str:
        raise NotImplementedError

    def start(self, timeout_s: float = 30.0) -> None:
        self._log = (self.workdir / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            self.argv(),
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,  # the Python helpers stop when it closes
            stdout=self._log,
            stderr=self._log,
        )
        deadline = time.monotonic() + timeout_s
        while not self.ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} did not come up: {self.log_tail()}")
            time.sleep(0.05)
        self.paused = False
        self.provision()

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.workdir / f"{self.name}.log").read_text(errors="replace")[-2000:]
        return ""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """Down hard: SIGKILL, no goodbye (connections reset, the port refuses)."""
        if self.process is not None and self.process.poll() is None:
            if self.paused:
                os.kill(self.process.pid, signal.SIGCONT)
            self.process.kill()
            self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        self.paused = False

    def pause(self) -> None:
        """Hanging: SIGSTOP. The kernel still accepts connections; nothing answers."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)
        self.paused = False

    def restart(self, down_s: float = 0.0) -> None:
        self.kill()
        time.sleep(down_s)
        self.start()

    def stop(self) -> None:
        self.kill()


class OwnRedis(OwnService):
    def __init__(self, workdir: Path) -> None:
        super().__init__("redis", workdir)
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed for the fault tests (make services installs it)"
        self.binary = binary

    def argv(self) -> list[str]:
        return [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.workdir),
        ]  # fmt: skip

    def ready(self) -> bool:
        return _redis_answers(self.port)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class OwnMongo(OwnService):
    """mongoeco's wire server (in memory): a restart loses every document."""

    def __init__(self, workdir: Path) -> None:
        super().__init__("mongoeco", workdir)

    def argv(self) -> list[str]:
        return [sys.executable, str(MONGOECO), "--host", "127.0.0.1", "--port", str(self.port)]

    def ready(self) -> bool:
        return _port_open(self.port)

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/flowhub"


class OwnMoto(OwnService):
    """moto's S3 (in memory): a restart loses every object; the bucket is made again."""

    def __init__(self, workdir: Path) -> None:
        super().__init__("moto", workdir)

    def argv(self) -> list[str]:
        # as a module: run as a script, tests/support/moto.py would shadow the moto package
        return [sys.executable, "-m", "tests.support.moto_server", "--port", str(self.port)]

    def ready(self) -> bool:
        if not _port_open(self.port):
            return False
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{self.url}/moto-api/data.json", timeout=2).status_code == 200
        return False

    def provision(self) -> None:
        response = httpx.put(
            f"{self.url}/{BUCKET}",
            content=b"<CreateBucketConfiguration><LocationConstraint>ap-south-1"
            b"</LocationConstraint></CreateBucketConfiguration>",
            timeout=5,
        )
        assert response.status_code in (200, 409), response.text

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def own_services(
    *kinds: Callable[[Path], OwnService], workdir: Path | None = None
) -> Iterator[list[OwnService]]:
    """Start one service of each kind (in parallel: mongoeco and moto import for ~1-2 s)."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="faults-")))
        services = [kind(workdir) for kind in kinds]
        for service in services:
            stack.callback(service.stop)
        threads = [threading.Thread(target=service.start, daemon=True) for service in services]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        for service in services:
            if not service.ready():
                raise RuntimeError(f"{service.name} did not start: {service.log_tail()}")
        yield services


# --- FlowHub server processes -------------------------------------------------------------------


def app_env(
    *,
    redis: OwnService | str | None = None,
    mongo: OwnService | str | None = None,
    moto: OwnService | None = None,
    **extra: str,
) -> dict[str, str]:
    """The integration shape: the given services real, mail in memory (the dev mailbox)."""
    env = {"APP_ENV": "development", "LOG_LEVEL": "WARNING", **SECRETS}
    if redis is not None:
        env["REDIS_URL"] = redis if isinstance(redis, str) else redis.url
    if mongo is not None:
        env["MONGODB_URI"] = mongo if isinstance(mongo, str) else mongo.url
    if moto is not None:
        env |= {**AWS, "S3_BUCKET_NAME": BUCKET, "AWS_ENDPOINT_URL_S3": moto.url}
    return env | extra


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kib(self) -> int:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def threads(self) -> int:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("Threads:"):
                    return int(line.split()[1])
        return 0

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout_s: float = 20.0) -> int:
        """SIGTERM and wait; the exit status (SIGKILL after `timeout_s`)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(env: Mapping[str, str], log_dir: Path, name: str = "flowhub") -> Server:
    port = free_port()
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("APP_", "MONGODB", "REDIS"))},
        "PORT": str(port),
        "PYTHONPATH": str(ROOT),
        **env,
    }
    for name_ in ("AWS_SES_REGION", "FROM_EMAIL", "S3_BUCKET_NAME", "AWS_ENDPOINT_URL"):
        if name_ not in env:
            full_env.pop(name_, None)
    log_path = log_dir / f"{name}-{port}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.server_app"],
            cwd=ROOT,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, log_path)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}: {server.log_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return server
        if time.monotonic() > deadline:
            server.terminate()
            raise TimeoutError(f"server did not answer /health: {server.log_text()[-3000:]}")
        time.sleep(0.05)


@contextlib.contextmanager
def served(env: Mapping[str, str], log_dir: Path, count: int = 1) -> Iterator[list[Server]]:
    servers: list[Server] = []
    try:
        for n in range(count):
            servers.append(start_server(env, log_dir, f"flowhub{n}"))
        yield servers
    finally:
        for server in servers:
            server.terminate()


async def wait_deep_health(server: Server, within_s: float = 30.0) -> None:
    """Until `/health?deep=1` answers 200 (the clients warm up 1 s after the start)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        deadline = time.monotonic() + within_s
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/health?deep=1")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise AssertionError("deep health never answered 200")
            await asyncio.sleep(0.2)


# --- traffic ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    label: str
    started: float  # time.monotonic()
    seconds: float
    status: int | None  # None: no HTTP answer
    error: str | None = None  # the exception's type when there was no answer
    body: Any = None


@dataclass
class Traffic:
    outcomes: list[Outcome] = field(default_factory=list)

    def between(self, start: float, end: float) -> list[Outcome]:
        return [o for o in self.outcomes if start <= o.started < end]

    @staticmethod
    def statuses(outcomes: Sequence[Outcome]) -> Counter[str]:
        return Counter(str(o.status) if o.status is not None else str(o.error) for o in outcomes)

    @staticmethod
    def ok_share(outcomes: Sequence[Outcome]) -> float:
        if not outcomes:
            return 0.0
        return sum(1 for o in outcomes if o.status is not None and o.status < 400) / len(outcomes)

    @staticmethod
    def latency_ms(outcomes: Sequence[Outcome], q: float) -> float:
        values = sorted(o.seconds * 1000 for o in outcomes)
        if not values:
            return 0.0
        return values[min(len(values) - 1, int(q * len(values)))]

    @staticmethod
    def median_ms(outcomes: Sequence[Outcome]) -> float:
        return statistics.median(o.seconds * 1000 for o in outcomes) if outcomes else 0.0


type Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


async def drive(
    base_url: str,
    requests: Sequence[tuple[str, Request]],
    *,
    workers: int,
    stop: asyncio.Event,
    traffic: Traffic,
    timeout_s: float = 30.0,
    pause_s: float = 0.0,
    keep_alive: bool = True,
) -> None:
    """`workers` loops, each sending the requests round-robin until `stop` is set, every
    outcome recorded (an answer's status, or the exception when none came)."""
    limits = httpx.Limits(
        max_connections=workers, max_keepalive_connections=workers if keep_alive else 0
    )

    async def worker(n: int) -> None:
        i = n
        async with httpx.AsyncClient(base_url=base_url, timeout=timeout_s, limits=limits) as http:
            while not stop.is_set():
                label, request = requests[i % len(requests)]
                i += 1
                started = time.monotonic()
                try:
                    response = await request(http)
                except httpx.HTTPError as error:
                    traffic.outcomes.append(
                        Outcome(label, started, time.monotonic() - started, None,
                                type(error).__name__)
                    )  # fmt: skip
                    await asyncio.sleep(0.05)
                    continue
                body = None
                with contextlib.suppress(ValueError):
                    body = response.json() if response.content else None
                traffic.outcomes.append(
                    Outcome(label, started, time.monotonic() - started, response.status_code,
                            body=body)
                )  # fmt: skip
                if pause_s:
                    await asyncio.sleep(pause_s)

    await asyncio.gather(*(worker(n) for n in range(workers)))


async def history(base_url: str, account: Any, room_id: str) -> list[dict[str, Any]]:
    """Every message of a room (`account` has `.token`), ascending by seq."""
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=30) as http:
            response = await http.get(
                f"/chat/rooms/{room_id}/messages",
                params={"after": after, "limit": 100},
                headers={"Authorization": f"Bearer {account.token}"},
            )
        assert response.status_code == 200, response.text
        page: list[dict[str, Any]] = response.json()["items"]
        items += page
        if len(page) < 100:
            return items
        after = int(page[-1]["seq"])


def is_contract_error(body: object, code: str) -> bool:
    """`{"error": {"code", "message", "request_id"}}` with the given code."""
    if not isinstance(body, dict) or set(body) != {"error"}:
        return False
    error = body["error"]
    return (
        isinstance(error, dict)
        and error.get("code") == code
        and isinstance(error.get("message"), str)
        and isinstance(error.get("request_id"), str)
    )
