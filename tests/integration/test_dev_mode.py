"""`make dev` (devtools/dev.py) as a developer runs it: a process that starts redis-server,
mongoeco on SQLite and the server, keeps accounts, tokens, files and Redis counters across a
restart, stops all three on Ctrl-C or SIGTERM, and `make dev-reset` empties it. Each start takes
a few seconds (mongoeco imports for ~1.5 s); the whole test is bounded by the timeouts below."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.processes import ROOT, free_port

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
EMAIL = "dev-mode@example.com"
PASSWORD = "a dev mode password"
START_S = 60.0
STOP_S = 40.0


def _environment(port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JWT_", "AWS_", "S3_", "TEST_")) and k not in {"APP_ENV", "HOST"}
    }
    return env | {"PORT": str(port), "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}


class DevMode:
    def __init__(self, root: Path) -> None:
        self.data = root / ".dev"
        self.env_file = root / ".env"
        self.log = root / "dev.log"
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "devtools.dev", *args, "--dir", str(self.data)]

    @contextmanager
    def running(self, stop_with: signal.Signals) -> Iterator[dict[str, int]]:
        """Serving; yields the PIDs it started. At exit: `stop_with`, status 0, and every one of
        those processes gone."""
        with self.log.open("ab") as log:
            start = log.tell()
            process = subprocess.Popen(
                [*self.command("serve"), "--env-file", str(self.env_file)],
                cwd=ROOT,
                env=_environment(self.port),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        pids: dict[str, int] = {}
        try:
            try:
                deadline = time.monotonic() + START_S
                while "make dev: serving on" not in self._output(start):
                    assert process.poll() is None, self._output(start)[-3000:]
                    assert time.monotonic() < deadline, self._output(start)[-3000:]
                    time.sleep(0.1)
                pids |= json.loads((self.data / "pids.json").read_text())
                assert pids["dev"] == process.pid
                yield pids
            finally:
                if process.poll() is None:
                    process.send_signal(stop_with)
                try:
                    status = process.wait(STOP_S)
                finally:
                    if process.poll() is None:  # the test failed: leave nothing behind
                        os.killpg(process.pid, signal.SIGKILL)
            output = self._output(start)
            assert status == 0, output[-3000:]
            assert "Traceback" not in output
            for name, pid in pids.items():
                assert not _alive(pid), f"{name} (pid {pid}) outlived make dev"
            assert not _processes_using(self.data)
        finally:
            _kill_strays(pids)

    def _output(self, start: int) -> str:
        with self.log.open("rb") as log:
            log.seek(start)
            return log.read().decode(errors="replace")

    def reset(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command("reset"),
            cwd=ROOT,
            env=_environment(self.port),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )


def _kill_strays(pids: dict[str, int]) -> None:
    """SIGKILL what make dev started and failed to stop (the PIDs it wrote), after the checks
    had their chance to see it: a failing test leaves no process behind."""
    for name, pid in pids.items():
        if name != "dev" and _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone in all but name; children are reaped by make dev, so this is a stray
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def _processes_using(data: Path) -> list[str]:
    """Command lines naming `data` (this test's own directory): the services it started."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if any(str(data).encode() in arg for arg in argv):
            found.append(b" ".join(argv).decode(errors="replace"))
    return found


def _sign_up(http: httpx.Client) -> dict[str, object]:
    body = {"email": EMAIL, "password": PASSWORD, "name": "Dev"}
    assert http.post("/api/v1/auth/signup", json=body).status_code == 202
    deadline = time.monotonic() + 10
    while not (mailbox := http.get("/api/v1/dev/mailbox", params={"to": EMAIL}).json()["messages"]):
        assert time.monotonic() < deadline, "no code in the mailbox"  # sent in the background
        time.sleep(0.05)
    code = re.search(r"\b(\d{6})\b", mailbox[0]["subject"])
    assert code is not None
    verified = http.post("/api/v1/auth/verify-email", json={"email": EMAIL, "code": code[1]})
    assert verified.status_code == 200, verified.text
    pair: dict[str, object] = verified.json()
    return pair


def _wrong_logins(http: httpx.Client, count: int) -> list[int]:
    body = {"email": EMAIL, "password": "not the password"}
    return [http.post("/api/v1/auth/login", json=body).status_code for _ in range(count)]


def test_accounts_tokens_files_and_counters_survive_a_restart_and_reset_empties_it(
    tmp_path: Path,
) -> None:
    dev = DevMode(tmp_path)

    with dev.running(signal.SIGINT), httpx.Client(base_url=dev.origin, timeout=15) as http:
        pair = _sign_up(http)
        bearer = {"Authorization": f"Bearer {pair['access_token']}"}
        upload = http.post(
            "/api/v1/files", files={"file": ("kept.png", PNG, "image/png")}, headers=bearer
        )
        assert upload.status_code == 201, upload.text
        file_id = upload.json()["id"]
        signed_before = http.get(f"/api/v1/files/{file_id}", headers=bearer).json()
        assert _wrong_logins(http, 5) == [401] * 5  # counted in Redis: 5 a minute per account
        health = http.get("/health", params={"deep": "1"}).json()
        adapters = {name: check["adapter"] for name, check in health["checks"].items()}
        assert adapters == {"mongo": "mongodb", "redis": "redis", "storage": "disk"}
        assert health["status"] == "ok"
    keys = dev.env_file.read_bytes()
    assert re.search(rb"^JWT_SECRET=\S{32,}$", keys, re.MULTILINE)
    assert re.search(rb"^JWT_REFRESH_SECRET=\S{32,}$", keys, re.MULTILINE)
    assert dev.env_file.stat().st_mode & 0o077 == 0

    with dev.running(signal.SIGTERM), httpx.Client(base_url=dev.origin, timeout=15) as http:
        me = http.get("/api/v1/users/me", headers=bearer)  # the same access token
        assert me.status_code == 200, me.text
        assert me.json()["email"] == EMAIL
        # the link signed before the restart, then a new one through the API
        assert http.get(signed_before["download_url"]).content == PNG
        download = http.get(f"/api/v1/files/{file_id}/download", headers=bearer)
        assert download.status_code == 302
        assert http.get(download.headers["Location"]).content == PNG
        assert _wrong_logins(http, 1) == [429]  # Redis kept the failures
        refreshed = http.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text  # the same refresh token
    assert dev.env_file.read_bytes() == keys  # never rewritten

    done = dev.reset()
    assert done.returncode == 0, done.stderr
    assert not dev.data.exists()
    assert dev.env_file.read_bytes() == keys  # the keys stay

    with dev.running(signal.SIGTERM), httpx.Client(base_url=dev.origin, timeout=15) as http:
        gone = http.get("/api/v1/users/me", headers=bearer)  # still signed, but no such user
        assert gone.status_code in (401, 404), gone.text
        login = http.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert login.status_code == 401
        assert list((dev.data / "files").glob("*")) == []


def _seed(dev: DevMode) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devtools.seed", "--url", dev.origin],
        cwd=ROOT,
        env=_environment(dev.port),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_seed_makes_a_ready_two_person_chat_once_and_reset_refuses_while_serving(
    tmp_path: Path,
) -> None:
    dev = DevMode(tmp_path)
    with dev.running(signal.SIGTERM), httpx.Client(base_url=dev.origin, timeout=15) as http:
        first, again = _seed(dev), _seed(dev)
        assert first.returncode == 0, first.stderr
        assert again.returncode == 0, again.stderr  # idempotent
        printed = dict(re.findall(r"(\S+@\S+)\s+password: (\S+)", first.stdout))
        assert len(printed) == 2
        tokens = []
        for email, password in printed.items():  # verified, with the printed passwords
            login = http.post("/api/v1/auth/login", json={"email": email, "password": password})
            assert login.status_code == 200, login.text
            tokens.append({"Authorization": f"Bearer {login.json()['access_token']}"})
        for bearer in tokens:
            [room] = http.get("/api/v1/chat/rooms", headers=bearer).json()["items"]
            assert len(room["member_ids"]) == 2
            messages = http.get(f"/api/v1/chat/rooms/{room['id']}/messages", headers=bearer)
            items = messages.json()["items"]
            assert [m["seq"] for m in items] == [1, 2, 3]  # the second run added none
            assert {m["sender_id"] for m in items} == set(room["member_ids"])

        done = dev.reset()  # while serving
        assert done.returncode == 1
        assert "make dev is already running" in done.stderr
        assert (dev.data / "mongo.sqlite").exists()
        second = subprocess.run(
            [*dev.command("serve"), "--env-file", str(dev.env_file)],
            cwd=ROOT,
            env=_environment(free_port()),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert second.returncode == 1
        assert "make dev is already running" in second.stderr


def test_a_port_in_use_stops_make_dev_with_the_variable_to_set_and_its_services(
    tmp_path: Path,
) -> None:
    dev = DevMode(tmp_path)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", dev.port))
        holder.listen()
        done = subprocess.run(
            [*dev.command("serve"), "--env-file", str(dev.env_file)],
            cwd=ROOT,
            env=_environment(dev.port),
            capture_output=True,
            text=True,
            timeout=START_S,
            check=False,
        )
    assert done.returncode == 78, done.stderr
    assert f"127.0.0.1:{dev.port} is already in use" in done.stderr
    assert "set PORT" in done.stderr
    assert "Traceback" not in done.stderr
    assert not _processes_using(dev.data)  # Redis and mongoeco were stopped


def test_the_services_do_not_outlive_a_killed_make_dev(tmp_path: Path) -> None:
    """SIGKILL gives make dev no chance to stop anything: the kernel's parent-death signal
    (Linux) stops its children instead."""
    dev = DevMode(tmp_path)
    with dev.log.open("ab") as log:
        process = subprocess.Popen(
            [*dev.command("serve"), "--env-file", str(dev.env_file)],
            cwd=ROOT,
            env=_environment(dev.port),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pids: dict[str, int] = {}
    try:
        deadline = time.monotonic() + START_S
        while "make dev: serving on" not in dev._output(0):
            assert process.poll() is None and time.monotonic() < deadline, dev._output(0)
            time.sleep(0.1)
        pids |= json.loads((dev.data / "pids.json").read_text())
        process.kill()
        process.wait(10)
        deadline = time.monotonic() + STOP_S
        while alive := [name for name, pid in pids.items() if _alive(pid)]:
            assert time.monotonic() < deadline, f"{alive} outlived a killed make dev"
            time.sleep(0.1)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        _kill_strays(pids)
