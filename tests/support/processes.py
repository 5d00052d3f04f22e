"""Start the real server as a process, the way a deployment does, and wait until it answers."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def http_json(
    port: int, method: str, path: str, body: object = None, timeout: float = 10.0
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        payload = None if body is None else json.dumps(body)
        conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        conn.close()


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def wait_until_healthy(server: ServerProcess, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            out = server.process.stdout.read().decode() if server.process.stdout else ""
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{out}")
        try:
            if http_get(server.port, "/health", timeout=1.0)[0] == 200:
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"server on port {server.port} did not answer /health in {timeout} s")


@contextmanager
def running_server(
    module: str = "tests.support.server_app", env: Mapping[str, str] | None = None
) -> Iterator[ServerProcess]:
    port = free_port()
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("APP_", "MONGODB", "REDIS"))},
        "APP_ENV": "test",
        "PORT": str(port),
        "PYTHONPATH": str(ROOT),
        **(env or {}),
    }
    with serving_command([sys.executable, "-m", module], ROOT, full_env, port) as server:
        yield server


@contextmanager
def serving_command(
    argv: list[str], cwd: Path, env: Mapping[str, str], port: int, stop_timeout: float = 10.0
) -> Iterator[ServerProcess]:
    """Runs `argv` (a server on `port`), yields once /health answers 200, stops it at the end
    (SIGTERM, then SIGKILL after `stop_timeout`)."""
    process = subprocess.Popen(
        argv, cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    server = ServerProcess(process, port)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout:
            process.stdout.close()
