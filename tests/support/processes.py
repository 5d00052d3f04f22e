"""Child processes for tests and benchmarks (no pytest here): the one `ServerProcess` class that
runs a FlowHub server or a service (redis-server, mongoeco, moto) and stops it, the environment a
served FlowHub gets, and plain HTTP probes.

A child runs in a session of its own, so a terminal's Ctrl-C reaches only the parent, which
decides when and how the child stops. Its output goes to a log file (a pipe nobody reads fills
up and freezes a server that logs) or, for tests that read it after the exit, to one pipe.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def http_call(
    port: int,
    method: str,
    path: str,
    *,
    body: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 10.0,
) -> Reply:
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout_s)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return Reply(response.status, response.read())
    finally:
        connection.close()


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    reply = http_call(port, "GET", path, timeout_s=timeout)
    return reply.status, reply.body


def http_json(
    port: int, method: str, path: str, body: object = None, timeout: float = 10.0
) -> tuple[int, Any]:
    reply = http_call(
        port,
        method,
        path,
        body=None if body is None else json.dumps(body),
        headers={"Content-Type": "application/json"},
        timeout_s=timeout,
    )
    return reply.status, reply.json() if reply.body else None


def proc_fields(path: Path, names: tuple[str, ...]) -> dict[str, int]:
    """Numeric `name: value` fields of a /proc file (status, smaps_rollup; kB values in KiB);
    empty once the process is gone."""
    values: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in names:
                values[key] = int(rest.split()[0])
    return values


# Runs beside a child that cannot watch its parent itself (redis-server). It blocks on its
# stdin, which only the parent holds open, and SIGTERMs the child at EOF: when the parent stops
# it, and also when the parent dies without doing so (SIGKILL, a CI timeout).
_WATCHDOG = """\
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
sys.stdin.buffer.read()
try:
    os.kill(int(sys.argv[1]), signal.SIGTERM)
except ProcessLookupError:
    pass
"""


class ServerProcess:
    """A child process: a FlowHub server on `port`, or a service.

    `log_path` takes stdout and stderr; without it both go to one pipe (`process.stdout`).
    `stdout_pipe` with a log file: stdout alone is a pipe (a helper announcing its address).
    `watched`: a watchdog stops the child if this interpreter dies first.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        port: int = 0,
        cwd: Path = ROOT,
        log_path: Path | None = None,
        name: str = "server",
        stdin: int | None = subprocess.DEVNULL,
        stdout_pipe: bool = False,
        watched: bool = False,
    ) -> None:
        self.name = name
        self.port = port
        self.log_path = log_path
        self.paused = False
        if log_path is None:
            stdout: int | Any = subprocess.PIPE
            stderr: int | Any = subprocess.STDOUT
            log = None
        else:
            log = log_path.open("ab")
            stdout = subprocess.PIPE if stdout_pipe else log
            stderr = log
        try:
            self.process = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=cwd,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
        finally:
            if log is not None:
                log.close()  # the child holds its own descriptor
        self._watchdog: subprocess.Popen[bytes] | None = None
        if watched:
            self._watchdog = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _WATCHDOG, str(self.process.pid)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def exited(self) -> bool:
        return self.process.poll() is not None

    def log_text(self) -> str:
        if self.log_path is None:
            return ""
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (other output skipped)."""
        records = []
        for line in self.log_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def log_tail(self, lines: int = 25) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def output_on_exit(self) -> str:
        """What an exited child wrote (its log, or its pipe), for an error message."""
        if self.log_path is None and self.process.stdout is not None:
            with contextlib.suppress(OSError, ValueError):
                return self.process.stdout.read().decode(errors="replace")[-3000:]
        return self.log_text()[-3000:]

    def rss_kib(self) -> int:
        return proc_fields(Path(f"/proc/{self.pid}/status"), ("VmRSS",)).get("VmRSS", 0)

    def threads(self) -> int:
        return proc_fields(Path(f"/proc/{self.pid}/status"), ("Threads",)).get("Threads", 0)

    def pause(self) -> None:
        """Hanging: SIGSTOP. The kernel still accepts connections; nothing answers."""
        os.kill(self.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)
        self.paused = False

    def kill(self) -> None:
        """Down hard: SIGKILL, no goodbye (connections reset, the port refuses)."""
        if self.process.poll() is None:
            self.process.kill()  # still our unreaped child: the watchdog cannot hit another pid
        self._release_watchdog()
        self.process.wait()
        self._close_pipes()
        self.paused = False

    def stop(self, grace_s: float = 10.0) -> float:
        """Close its stdin (a helper stops at EOF), SIGTERM, then SIGKILL after `grace_s`.
        Returns ms until it exited. Safe to call more than once."""
        started = time.perf_counter()
        if self.paused and self.process.poll() is None:
            self.resume()
        if self._watchdog is not None:
            self._release_watchdog()  # it SIGTERMs the child, before anything reaps it
        elif self.process.stdin is not None and self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=min(grace_s, 3.0))
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._close_pipes()
        return elapsed_ms

    def _release_watchdog(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is None:
            return
        assert watchdog.stdin is not None
        with contextlib.suppress(OSError):
            watchdog.stdin.close()
        try:
            watchdog.wait(5)
        except subprocess.TimeoutExpired:
            watchdog.kill()
            watchdog.wait()
        if watchdog.returncode != 0 and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)

    def _close_pipes(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def wait_until_healthy(server: ServerProcess, timeout: float = 30.0) -> None:
    """Until `GET /health` answers 200; raises with the server's output if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.exited:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}:\n{server.output_on_exit()}"
            )
        try:
            if http_get(server.port, "/health", timeout=1.0)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise TimeoutError(f"{server.name} on port {server.port} gave no 200 on /health in {timeout} s")


# Service settings a served FlowHub never inherits from the calling shell, unless given.
_NOT_INHERITED = ("APP_", "MONGODB", "REDIS")
_AWS_NOT_INHERITED = ("AWS_SES_REGION", "FROM_EMAIL", "S3_BUCKET_NAME", "AWS_ENDPOINT_URL")


def server_env(env: Mapping[str, str], port: int) -> dict[str, str]:
    """This process's environment for a FlowHub server on `port`, with `env` on top."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
    for name in _AWS_NOT_INHERITED:
        if name not in env:
            full.pop(name, None)
    # Test clients stand for users behind Fly's proxy: each may send its own Fly-Client-IP.
    served = {"APP_ENV": "test", "TRUSTED_PROXY": "fly", "PORT": str(port), "PYTHONPATH": str(ROOT)}
    return {**full, **served, **env}


def start_server(
    env: Mapping[str, str] | None = None,
    *,
    module: str = "tests.support.server_app",
    log_dir: Path | None = None,
    name: str = "flowhub",
    timeout: float = 30.0,
) -> ServerProcess:
    """`python -m <module>` on a free port, once it answers `/health` (stopped if it never
    does). Its output goes to `<name>-<port>.log` in `log_dir`, or in a directory of this test
    session's: never to a pipe, which nobody reads while the server runs and which blocks the
    server's writes once 64 KiB of log lines fill it (every request then hangs)."""
    port = free_port()
    log_path = (log_dir or _session_log_dir()) / f"{name}-{port}.log"
    server = ServerProcess(
        [sys.executable, "-m", module],
        env=server_env(env or {}, port),
        port=port,
        log_path=log_path,
        name=name,
    )
    try:
        wait_until_healthy(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


@functools.cache
def _session_log_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="flowhub-servers-"))


@contextmanager
def running_server(
    module: str = "tests.support.server_app",
    env: Mapping[str, str] | None = None,
    log_dir: Path | None = None,
) -> Iterator[ServerProcess]:
    with start_server(env, module=module, log_dir=log_dir) as server:
        yield server


@contextmanager
def serving_command(
    argv: list[str], cwd: Path, env: Mapping[str, str], port: int, stop_timeout: float = 10.0
) -> Iterator[ServerProcess]:
    """Runs `argv` (a server on `port`), yields once /health answers 200, stops it at the end
    (SIGTERM, then SIGKILL after `stop_timeout`)."""
    server = ServerProcess(argv, env=env, port=port, cwd=cwd)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        server.stop(stop_timeout)


@contextmanager
def served(env: Mapping[str, str], log_dir: Path, count: int = 1) -> Iterator[list[ServerProcess]]:
    """`count` servers of `env`, their output in `log_dir`."""
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(start_server(env, log_dir=log_dir, name=f"flowhub{n}"))
            for n in range(count)
        ]
