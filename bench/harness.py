"""Measuring helpers: the server command production runs, polling for the first `200`, CPU and
memory from /proc (once or sampled over time), plain HTTP and Socket.IO checks, and the small
report helpers the benchmarks share. The processes themselves are tests/support/processes.py's."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from tests.support.processes import LOOPBACK, ServerProcess, http_call, proc_fields


class Deadline:
    """A point in time every wait of the run is bounded by."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    def bound(self, seconds: float) -> float:
        """`seconds`, or less if the deadline comes first."""
        return min(seconds, self.remaining())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


def uvicorn_command(factory: str, port: int) -> list[str]:
    """The options of entrypoints/__main__.py's uvicorn.run, as a command line."""
    return [
        sys.executable, "-m", "uvicorn", factory, "--factory",
        "--host", LOOPBACK, "--port", str(port),
        "--loop", "uvloop", "--http", "httptools",
        "--ws", "websockets-sansio", "--ws-per-message-deflate", "false",
        "--lifespan", "on", "--no-access-log", "--log-level", "warning",
        "--no-server-header", "--proxy-headers", "--forwarded-allow-ips", "*",
        "--timeout-keep-alive", "30", "--timeout-graceful-shutdown", "4",
    ]  # fmt: skip


def spawn(
    name: str, command: Sequence[str], *, env: Mapping[str, str], log_path: Path, port: int = 0
) -> tuple[ServerProcess, float]:
    """Start a server process: (the process, `time.perf_counter()` just before the spawn)."""
    started = time.perf_counter()
    return ServerProcess(command, env=env, port=port, log_path=log_path, name=name), started


@dataclass(frozen=True, slots=True)
class ColdStart:
    accept_ms: float  # first TCP connection accepted
    ok_ms: float  # first `200` read
    cpu_ms: float  # CPU time the server's processes had used by then (10 ms resolution)


class StartFailed(RuntimeError):
    pass


def wait_first_ok(
    process: ServerProcess,
    port: int,
    path: str,
    started: float,
    deadline: Deadline,
    *,
    poll_s: float = 0.005,
) -> ColdStart:
    """Poll `GET path` with raw connections every `poll_s` until one answers 200.

    `started` is the `time.perf_counter()` taken just before the process was spawned.
    """
    request = f"GET {path} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\nConnection: close\r\n\r\n"
    accept_ms: float | None = None
    last = "no connection"
    while not deadline.expired:
        if process.exited:
            tail = " | ".join(process.log_tail(3).splitlines())
            raise StartFailed(f"{process.name} exited with {process.process.returncode}: {tail}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=deadline.bound(1.0)) as sock:
                if accept_ms is None:
                    accept_ms = (time.perf_counter() - started) * 1000
                sock.settimeout(max(0.01, deadline.remaining()))
                sock.sendall(request.encode())
                status_line = _read_status_line(sock)
        except OSError as error:  # refused, reset, closed, timed out
            last = repr(error)
        else:
            if status_line.startswith(("HTTP/1.1 200", "HTTP/1.0 200")):
                ok_ms = (time.perf_counter() - started) * 1000
                accepted = ok_ms if accept_ms is None else accept_ms
                return ColdStart(accepted, ok_ms, tree_cpu_ms(process.pid))
            last = status_line or "empty response"
        time.sleep(poll_s)
    raise StartFailed(f"{process.name} gave no 200 on {path} in time (last: {last})")


def _read_status_line(sock: socket.socket) -> str:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(256)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1")


@dataclass(frozen=True, slots=True)
class Memory:
    rss_kib: int  # summed over the process tree
    hwm_kib: int  # summed peak RSS
    pss_kib: int  # proportional set size: shared pages split between the processes
    processes: int

    @property
    def rss_mib(self) -> float:
        return self.rss_kib / 1024

    @property
    def hwm_mib(self) -> float:
        return self.hwm_kib / 1024

    @property
    def pss_mib(self) -> float:
        return self.pss_kib / 1024


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int | str) -> list[str]:
    """/proc/PID/stat from field 3 (state) on. The command name may hold spaces and
    parentheses, so the fields start after the last ')'."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return stat[stat.rfind(")") + 2 :].split()


def tree_cpu_ms(root: int) -> float:
    """User + system CPU time of a process tree, reaped children included."""
    ticks = 0
    for pid in process_tree(root):
        fields = _stat_fields(pid)
        if fields:
            ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return ticks * 1000 / _CLOCK_TICKS


def wait_cpu_idle(pid: int, deadline: Deadline, window_s: float = 0.25) -> bool:
    """Wait until a process tree uses at most one clock tick of CPU in `window_s` (a server
    that finished the requests a load generator left in flight). False if it never did."""
    while not deadline.expired:
        before = tree_cpu_ms(pid)
        time.sleep(window_s)
        if tree_cpu_ms(pid) - before <= 1000 / _CLOCK_TICKS:
            return True
    return False


@dataclass(frozen=True, slots=True)
class HostCpu:
    busy: int
    total: int

    def busy_pct_since(self, before: HostCpu) -> float:
        """Share of the whole machine (every core) that was busy since `before`."""
        total = self.total - before.total
        return 100 * (self.busy - before.busy) / total if total else 0.0


def host_cpu() -> HostCpu:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user time
    return HostCpu(total - idle, total)


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(entry.name)):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def memory(root: int) -> Memory:
    rss = hwm = pss = count = 0
    for pid in process_tree(root):
        status = proc_fields(Path(f"/proc/{pid}/status"), ("VmRSS", "VmHWM"))
        if not status:
            continue
        count += 1
        rss += status.get("VmRSS", 0)
        hwm += status.get("VmHWM", 0)
        pss += proc_fields(Path(f"/proc/{pid}/smaps_rollup"), ("Pss",)).get("Pss", 0)
    return Memory(rss, hwm, pss, count)


def socketio_check(port: int, timeout_s: float = 5.0) -> str:
    """Open Socket.IO over a websocket (no compression) and ask to join the default namespace.

    Returns e.g. "ok 40" (connected) or "ok 44 unauthorized" (refused by the app, as FlowHub does
    until auth lands); "FAIL ..." when the websocket or Engine.IO handshake did not work.
    """
    from websockets.sync.client import connect

    url = f"ws://{LOOPBACK}:{port}/socket.io/?EIO=4&transport=websocket"
    try:
        with connect(url, compression=None, proxy=None, open_timeout=timeout_s) as ws:
            opening = ws.recv(timeout=timeout_s)
            if not isinstance(opening, str) or not opening.startswith("0"):
                return f"FAIL open packet {opening!r:.40}"
            ws.send("40")
            answer = ws.recv(timeout=timeout_s)
    except Exception as error:
        return f"FAIL {type(error).__name__}: {error}"[:80]
    return _namespace_answer(answer)


def _namespace_answer(answer: str | bytes) -> str:
    if isinstance(answer, str) and answer.startswith("40"):
        return "ok 40"
    if isinstance(answer, str) and answer.startswith("44"):
        message = ""
        with contextlib.suppress(ValueError, AttributeError):
            message = str(json.loads(answer[2:]).get("message", ""))
        return f"ok 44 {message}".strip()
    return f"FAIL answer {answer[:30]!r}"


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """Let a cleanup step finish even if Ctrl-C is pressed again during it."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def progress(message: str) -> None:
    """A progress line on stderr (the report goes to stdout)."""
    print(message, file=sys.stderr, flush=True)


# --- memory over time ---------------------------------------------------------------------------


def status_kib(pid: int, names: tuple[str, ...] = ("VmRSS", "VmHWM")) -> dict[str, int]:
    """Fields of /proc/PID/status in KiB (empty once the process is gone)."""
    return proc_fields(Path(f"/proc/{pid}/status"), names)


def reset_peak_rss(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (`5` to /proc/PID/clear_refs, Linux 4.0+),
    so a later VmHWM is the peak of what ran in between. False where the kernel refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class RssSampler:
    """Samples one process's VmRSS every `interval_s` on a thread of its own, between `start()`
    and `stop()`; `peak_kib` is the highest sample."""

    def __init__(self, pid: int, interval_s: float = 0.05) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-{pid}", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)

    @property
    def peak_kib(self) -> int:
        return max(self.samples, default=0)

    def _run(self) -> None:
        while True:
            rss = status_kib(self.pid, ("VmRSS",)).get("VmRSS")
            if rss is not None:
                self.samples.append(rss)
            if self._stop.wait(self.interval_s):
                return


# --- checks and report helpers shared by the benchmarks -----------------------------------------


def deep_health(port: int) -> str:
    """`GET /health?deep=1`: proves the production adapters reach the real services. The first
    call may time out while the AWS client opens lazily, so it is retried."""
    summary = ""
    for _ in range(4):
        reply = http_call(port, "GET", "/health?deep=1")
        body = reply.json()
        checks = body.get("checks", {}) if isinstance(body, dict) else {}
        summary = f"{reply.status} " + " ".join(
            f"{name}:{'ok' if c.get('ok') else c.get('error')}" for name, c in checks.items()
        )
        if reply.status == 200:
            return summary
        time.sleep(1.0)
    return summary


def log_problems(log: Path) -> list[str]:
    """One note per server log with warning or error lines: how many, and the first."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    bad = [
        line.strip()
        for line in lines
        if any(word in line for word in ("Traceback", "ERROR", "Error:", "CRITICAL", "WARNING"))
    ]
    if not bad:
        return []
    return [f"{log.name}: {len(bad)} warning/error lines, first: {bad[0][:160]}"]


def fmt(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def git_revision(root: Path) -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
            check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' + uncommitted changes' if dirty else ''}"
