"""`make dev` and `make dev-reset`: FlowHub on its real Redis and MongoDB adapters, with data that
survives a restart, on this machine only.

    python -m devtools.dev serve [--dir .dev] [--env-file .env]
    python -m devtools.dev reset [--dir .dev]

`serve` starts three processes and stops them again, nothing else:

- `redis-server` on a free loopback port, appending every write to `<dir>/redis/` (AOF, fsync
  each second; SIGTERM writes the rest);
- mongoeco's MongoDB wire server (devtools/mongoeco_server.py) with its SQLite engine, every
  document in `<dir>/mongo.sqlite`;
- the server itself (`python -m entrypoints`) with `REDIS_URL` and `MONGODB_URI` pointing at
  them, file contents in `<dir>/files` (`FILES_DIR`, adapters/disk/blobs.py), `RELAXED_LIMITS=1`
  and the development mailbox; its output is this terminal's.

The JWT keys come from the env file (`.env`, git-ignored), written with fresh random keys the
first time and never overwritten (a missing key is appended), so a restart keeps every token
valid. The rest of the env file and the shell's variables reach the server as they are (the
shell wins; `PORT=4001 make dev`), except the three variables above, which are this mode's.

Ctrl-C or SIGTERM stops the server first (it drains its requests), then the two services, each
by the PID this process started; a child that does not stop in time is killed. The children run
in sessions of their own (Ctrl-C reaches only this process, which decides the order) and, on
Linux, get SIGTERM from the kernel if this process dies without stopping them. A lock file in
`<dir>` keeps a second `serve` (or a `reset`) off the same data while one runs.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import json
import os
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
SECRET_NAMES = ("JWT_SECRET", "JWT_REFRESH_SECRET")
# the mode's own: a value from .env or the shell would point the server at other data
OWNED = ("REDIS_URL", "MONGODB_URI", "FILES_DIR")
APP_STOP_S = 20.0  # above the server's own bound (SHUTDOWN_TIMEOUT_S x 3 + telemetry)
SERVICE_STOP_S = 10.0
START_S = 30.0


def first_line(stream: IO[bytes], timeout_s: float) -> str:
    """The first line a child prints (its address), read without blocking past `timeout_s`:
    `TimeoutError` when none comes in time, `EOFError` when the child closes its output."""
    line = b""
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(timeout=left):
                raise TimeoutError
            chunk = os.read(stream.fileno(), 256)
            if not chunk:
                raise EOFError
            line += chunk
    return line.decode().strip()


class DevError(Exception):
    """A start that cannot go on; the message says what to do."""


# --- the env file -------------------------------------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines (an `export ` prefix and one pair of quotes allowed); the last one of a
    name wins, as when the file is sourced by a shell."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        name, sep, value = line.partition("=")
        if not sep or not name.isidentifier():
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
    return values


def ensure_env_file(path: Path) -> dict[str, str]:
    """The env file's values, with both JWT keys present: generated once, appended when missing,
    never replacing a line that is there."""
    values = read_env_file(path)
    missing = [name for name in SECRET_NAMES if not values.get(name)]
    if missing:
        new = not path.exists()
        lines = []
        if new:
            lines += [
                "# FlowHub development settings (git-ignored). make dev reads it and never",
                "# rewrites it; .env.example lists every variable. Keep these keys: tokens",
                "# signed with them stay valid across restarts of make dev.",
            ]
        lines += [f"{name}={secrets.token_urlsafe(48)}" for name in missing]
        with path.open("a") as f:
            if not new and not path.read_text().endswith("\n"):
                f.write("\n")
            f.write("\n".join(lines) + "\n")
        if new:
            path.chmod(0o600)
        print(f"make dev: wrote {', '.join(missing)} to {path}", file=sys.stderr)
        values = read_env_file(path)
    return values


def server_env(
    shell: Mapping[str, str],
    file_values: Mapping[str, str],
    data: Path,
    services: Mapping[str, str],
) -> dict[str, str]:
    env = {**file_values, **shell}
    env.setdefault("APP_ENV", "development")
    env.setdefault("RELAXED_LIMITS", "1")
    for name in OWNED:
        env.pop(name, None)
    env |= {"FILES_DIR": str(data / "files"), **services}
    return env


# --- the processes ------------------------------------------------------------------------------


# loaded here, not in the forked child, which should do as little as it can before exec
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: a session of its own, and SIGTERM when this process dies."""
    os.setsid()
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


# every child started, in order: stopped in reverse, whatever interrupted the start
_started: list[Child] = []


class Child:
    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: Mapping[str, str],
        log: Path | None,
        announce: bool = False,
    ) -> None:
        self.name = name
        self.log = log
        out: IO[bytes] | int | None = None
        self._log_file = None
        if log is not None:
            self._log_file = log.open("ab")
            out = self._log_file
        self.process = subprocess.Popen(  # noqa: S603 - argv built here
            argv,
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.PIPE if announce else subprocess.DEVNULL,
            stdout=subprocess.PIPE if announce else out,
            stderr=out,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads in this process
        )
        _started.append(self)

    @property
    def pid(self) -> int:
        return self.process.pid

    def first_line(self, timeout_s: float) -> str:
        assert self.process.stdout is not None
        try:
            return first_line(self.process.stdout, timeout_s)
        except TimeoutError:
            raise DevError(f"{self.name} did not start in {timeout_s:.0f} s{self.tail()}") from None
        except EOFError:
            raise DevError(f"{self.name} exited{self.tail()}") from None

    def tail(self) -> str:
        if self.log is None:
            return ""
        with contextlib.suppress(OSError):
            text = self.log.read_text(errors="replace").strip()[-1500:]
            return f"; its log ({self.log}):\n{text}" if text else ""
        return ""

    def stop(self, timeout_s: float) -> int | None:
        """SIGTERM, then SIGKILL after `timeout_s`; the exit status."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            if self.process.stdin is not None:  # mongoeco also stops when its stdin closes
                with contextlib.suppress(OSError):
                    self.process.stdin.close()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                print(f"make dev: {self.name} did not stop in {timeout_s:.0f} s: killed")
                self.process.kill()
                self.process.wait()
        if self._log_file is not None:
            self._log_file.close()
        return self.process.returncode


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _redis_pid(port: int) -> str | None:
    """The process id the Redis on `port` reports (None while it does not answer)."""
    with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.5) as s:
        s.settimeout(1.0)
        s.sendall(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
        reply = b""
        while b"process_id:" not in reply or not reply.endswith(b"\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
        for line in reply.decode(errors="replace").splitlines():
            if line.startswith("process_id:"):
                return line.partition(":")[2].strip()
    return None


def start_redis(data: Path, env: Mapping[str, str]) -> tuple[Child, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise DevError(
            "redis-server is not installed: bash scripts/ensure-test-services.sh redis-server "
            "(Debian: apt-get install redis-server; macOS: brew install redis)"
        )
    (data / "redis").mkdir(parents=True, exist_ok=True)
    for _attempt in range(3):  # a probed free port can be taken before redis binds it
        port = _free_port()
        argv = [
            binary, "--port", str(port), "--bind", LOOPBACK, "--protected-mode", "yes",
            "--dir", str(data / "redis"), "--appendonly", "yes", "--appendfsync", "everysec",
            "--save", "", "--daemonize", "no", "--logfile", "",
        ]  # fmt: skip
        child = Child("redis-server", argv, env=env, log=data / "redis.log")
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline and child.process.poll() is None:
            if _redis_pid(port) == str(child.pid):
                return child, f"redis://{LOOPBACK}:{port}/0"
            time.sleep(0.05)
        child.stop(SERVICE_STOP_S)
        if "Address already in use" not in child.tail():
            raise DevError(f"redis-server did not start{child.tail()}")
    raise DevError("redis-server found no free port")


def start_mongo(data: Path, env: Mapping[str, str]) -> tuple[Child, str]:
    argv = [
        sys.executable, str(ROOT / "devtools" / "mongoeco_server.py"),
        "--host", LOOPBACK, "--port", "0", "--sqlite", str(data / "mongo.sqlite"),
    ]  # fmt: skip
    child = Child("mongoeco", argv, env=env, log=data / "mongo.log", announce=True)
    try:
        uri = child.first_line(START_S)
    except BaseException:
        child.stop(SERVICE_STOP_S)
        raise
    # the database name goes before the query: mongodb://host:port/flowhub?directConnection=true
    base, _, query = uri.partition("?")
    return child, f"{base.rstrip('/')}/flowhub?{query or 'directConnection=true'}"


def _answers(url: str) -> bool:
    with (
        contextlib.suppress(OSError, ValueError),
        urllib.request.urlopen(url, timeout=1) as response,  # noqa: S310 - our own URL
    ):
        return bool(response.status == 200)
    return False


@contextlib.contextmanager
def _locked(data: Path) -> Iterator[None]:
    data.mkdir(parents=True, exist_ok=True)
    with (data / "lock").open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise DevError(
                f"make dev is already running on {data} (pid {holder}): stop it first"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        yield


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: object) -> None:
    raise _Stop(signum)


def serve(data: Path, env_file: Path) -> int:
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        with _locked(data):  # held until every child has stopped
            try:
                return _run(data, env_file)
            except _Stop:
                return 0
            finally:
                # no second signal may cut the stop short: the order is the point
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                for child in reversed(_started):
                    child.stop(APP_STOP_S if child.name == "server" else SERVICE_STOP_S)
                with contextlib.suppress(OSError):
                    (data / "pids.json").unlink()
    except DevError as error:
        print(f"make dev: {error}", file=sys.stderr)
        return 1


def _run(data: Path, env_file: Path) -> int:
    """Start the three and watch them until one exits (its status) or a signal comes."""
    file_values = ensure_env_file(env_file)
    plain = {k: v for k, v in os.environ.items() if k not in OWNED}
    redis, redis_url = start_redis(data, plain)
    mongo, mongo_uri = start_mongo(data, plain)
    services = {"REDIS_URL": redis_url, "MONGODB_URI": mongo_uri}
    env = server_env(os.environ, file_values, data, services)
    app = Child("server", [sys.executable, "-m", "entrypoints"], env=env, log=None)
    (data / "pids.json").write_text(
        json.dumps({"dev": os.getpid(), "redis": redis.pid, "mongo": mongo.pid, "server": app.pid})
    )
    host = env.get("HOST") or LOOPBACK
    origin = f"http://{LOOPBACK if host in ('0.0.0.0', '::') else host}:"  # noqa: S104
    origin += env.get("PORT") or "4000"
    ready = False
    while True:
        for child in (redis, mongo, app):
            if child.process.poll() is not None:
                status = child.process.returncode
                print(f"make dev: {child.name} exited ({status}){child.tail()}", file=sys.stderr)
                return status if child is app and status > 0 else 1
        if not ready and _answers(f"{origin}/health"):
            ready = True
            print(
                f"make dev: serving on {origin} (data in {data}, keys in {env_file}; "
                "make seed adds two users; Ctrl-C stops)",
                flush=True,
            )
        time.sleep(0.2)


def reset(data: Path) -> int:
    """Remove the data directory (never the env file), unless `serve` holds it."""
    if not data.exists():
        print(f"make dev-reset: {data} is already empty")
        return 0
    try:
        with _locked(data):
            for entry in data.iterdir():
                if entry.name == "lock":
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
    except DevError as error:
        print(f"make dev-reset: {error}", file=sys.stderr)
        return 1
    shutil.rmtree(data, ignore_errors=True)
    print(f"make dev-reset: removed {data} (the keys in .env stay)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.dev", description=__doc__)
    parser.add_argument("command", choices=("serve", "reset"))
    parser.add_argument("--dir", type=Path, default=ROOT / ".dev", help="the data (.dev)")
    parser.add_argument("--env-file", type=Path, default=ROOT / ".env", help="the keys (.env)")
    args = parser.parse_args(argv)
    data = args.dir.resolve()
    if args.command == "serve":
        return serve(data, args.env_file.resolve())
    return reset(data)


if __name__ == "__main__":
    sys.exit(main())
