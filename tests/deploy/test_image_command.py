"""The image's start command, run outside Docker in an environment built the Dockerfile's way.

No Docker engine runs here, so the build stage is replayed: its COPY lines copy the same files
from the repository into a temporary directory standing in for the image's WORKDIR, and its RUN
lines run as written there (uv sync from the lock without the dev group, bytecode compiled, the
extensions stripped, FlowHub's own bytecode), with the stage's ENV and `/app` pointed at the
temporary directory. Only the lines that install the build tools themselves (apt-get, pip
install uv) are left out: uv is the Makefile's, pinned to the same version (test_dockerfile.py
checks that). Then the final stage's CMD runs with the final stage's ENV and WORKDIR, as the
container would, and must answer GET /health. The fresh environment has no dev dependency, so
this proves the locked runtime dependencies are enough to start and serve.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.files import render_service
from tests.support.dockerfile import Instruction, Stage, copy_sources, parse, parse_env
from tests.support.processes import ROOT, ServerProcess, free_port, http_get, serving_command

pytestmark = pytest.mark.deploy

DOCKERFILE = ROOT / "Dockerfile"
UV = ROOT / ".uv" / "bin" / "uv"
TOOL_INSTALLS = ("apt-get", "pip install")  # the build tools, provided here by the Makefile
PRODUCTION_PACKAGES = ("domain", "ports", "schemas", "adapters", "config", "entrypoints")
PASSED_THROUGH = (
    "UV_CACHE_DIR",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_INDEX",
    "UV_NATIVE_TLS",
    "XDG_CACHE_HOME",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
)


@dataclass(frozen=True, slots=True)
class BuiltImage:
    """The replayed build: `root` stands for the image's WORKDIR."""

    root: Path
    runtime: Stage
    build_seconds: float

    def container_env(self, extra: Mapping[str, str]) -> dict[str, str]:
        """What the container's process sees: a plain system PATH and HOME, then the final
        stage's ENV (with /app moved), then what `docker run -e` would add."""
        base = {"PATH": _system_path(), "HOME": str(self.root / "home")}
        env = {k: _moved(v, self.root) for k, v in self.runtime.env(base).items()}
        return {**env, **extra}

    def workdir(self) -> Path:
        return Path(_moved(self.runtime.workdir(), self.root))


def _moved(text: str, root: Path) -> str:
    """Paths under the image's /app, moved to the temporary root."""
    return re.sub(r"(?<![\w.-])/app(?=/|\b|$)", str(root), text)


def _system_path() -> str:
    """The directory of the interpreter the tests run on (the image has its python on PATH
    in /usr/local/bin), then the usual system directories."""
    base = Path(getattr(sys, "_base_executable", sys.executable)).resolve().parent
    return os.pathsep.join([str(base), "/usr/local/bin", "/usr/bin", "/bin"])


def _copy(instruction: Instruction, root: Path, workdir: str) -> None:
    sources, dest = copy_sources(instruction)
    target = Path(_moved(dest if dest.startswith("/") else f"{workdir}/{dest}", root))
    for source in sources:
        path = ROOT / source
        if path.is_dir():  # COPY dir/ dest/ copies the directory's contents
            shutil.copytree(
                path, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / path.name)


def _run(instruction: Instruction, env: Mapping[str, str], root: Path, cwd: Path) -> None:
    command = _moved(instruction.args, root)  # the shell expands $VARS, as in `docker build`
    if "strip" in command:  # never strip a file that is also a hard link into uv's cache
        linked = [p for p in (root / ".venv").rglob("*.so") if p.stat().st_nlink > 1]
        assert not linked, f"hard-linked extensions would be stripped in uv's cache: {linked[:3]}"
    result = subprocess.run(
        ["/bin/sh", "-c", command],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        f"Dockerfile line {instruction.line} failed ({result.returncode}): {command}\n"
        f"{result.stdout}\n{result.stderr}"
    )


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> BuiltImage:
    return replay_build(tmp_path_factory.mktemp("image") / "app")


def replay_build(root: Path) -> BuiltImage:
    """The Dockerfile's build stage, replayed into `root` (which stands for /app)."""
    dockerfile = parse(DOCKERFILE)
    build = dockerfile.stage("build")
    root.mkdir()
    base = {
        "PATH": os.pathsep.join([str(UV.parent), _system_path()]),
        "HOME": os.environ.get("HOME", str(root)),
    }
    # where this machine gets packages from (the Dockerfile's ENV then sets the rest)
    for name in PASSED_THROUGH:
        if name in os.environ:
            base[name] = os.environ[name]
    env = dict(base)
    workdir = "/"
    started = time.monotonic()
    replayed: list[str] = []
    for instruction in build.instructions:
        match instruction.keyword:
            case "ARG":  # a build argument is in the environment of the RUN lines after it
                name, _, default = instruction.args.partition("=")
                env[name] = default
            case "ENV":
                new = parse_env(instruction.args, env)
                env.update({k: _moved(v, root) for k, v in new.items()})
            case "WORKDIR":
                workdir = instruction.args
            case "COPY":
                _copy(instruction, root, workdir)
                replayed.append("COPY " + instruction.args)
            case "RUN" if any(tool in instruction.args for tool in TOOL_INSTALLS):
                continue
            case "RUN":
                if "strip" in instruction.args:
                    assert env.get("UV_LINK_MODE") == "copy", (
                        "the build must copy packages out of uv's cache before stripping them"
                    )
                _run(instruction, env, root, Path(_moved(workdir, root)))
                replayed.append("RUN " + instruction.args)
            case "USER" | "EXPOSE" | "CMD":
                continue
            case other:
                raise AssertionError(f"the replay does not know {other} (line {instruction.line})")
    assert any("uv sync" in line for line in replayed), replayed
    return BuiltImage(root, dockerfile.final, time.monotonic() - started)


@contextmanager
def serving(image: BuiltImage, argv: list[str], env: Mapping[str, str]) -> Iterator[ServerProcess]:
    port = free_port()
    container_env = image.container_env({**env, "PORT": str(port)})
    with serving_command(argv, image.workdir(), container_env, port, stop_timeout=15) as server:
        yield server


def _websocket_handshake(port: int) -> str:
    """The response head to a Socket.IO websocket upgrade that offers per-message deflate."""
    request = (
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    return head.split(b"\r\n\r\n")[0].decode("latin-1")


def test_the_fresh_environment_has_no_dev_dependency(image: BuiltImage) -> None:
    site = next((image.root / ".venv" / "lib").glob("python3.*/site-packages"))
    installed = {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}
    assert {"uvicorn", "quart", "python_socketio"} <= installed
    for dev_only in ("pytest", "moto", "mongoeco", "testcontainers", "mypy", "playwright"):
        assert dev_only not in installed


def test_the_images_cmd_serves_health_from_the_no_dev_environment(image: BuiltImage) -> None:
    argv = image.runtime.cmd()
    resolved = shutil.which(argv[0], path=image.container_env({})["PATH"])
    assert resolved is not None
    assert Path(resolved).parent == image.root / ".venv" / "bin"  # the image's venv, not ours

    started = time.monotonic()
    with serving(image, argv, {"APP_ENV": "development"}) as server:
        first_answer = time.monotonic() - started
        status, body = http_get(server.port, "/health")
        assert status == 200
        assert json.loads(body)["status"] == "ok"
        # the reference web client ships in the image: the page and its bundled @flowhub/client
        for path in ("/", "/client/js/app.js", "/client/vendor/flowhub-client.js"):
            status, _ = http_get(server.port, path)
            assert status == 200, path
        # served as production serves: websockets without per-message deflate (64-316 KiB a
        # connection otherwise), even when the client offers it
        handshake = _websocket_handshake(server.port)
        assert handshake.startswith("HTTP/1.1 101"), handshake
        assert "permessage-deflate" not in handshake.lower()
        assert server.process.poll() is None
        server.process.terminate()
        # uvicorn stops gracefully, then re-raises the signal: the exit status says SIGTERM
        assert server.process.wait(timeout=15) == -signal.SIGTERM
        assert server.process.stdout is not None
        log = server.process.stdout.read().decode()
        assert "Application shutdown complete." in log
        assert "Traceback" not in log
    assert first_answer < 15


def test_the_images_cmd_refuses_production_without_its_variables(image: BuiltImage) -> None:
    # the image's own ENV says APP_ENV=production; nothing else is given
    result = subprocess.run(
        image.runtime.cmd(),
        cwd=image.workdir(),
        env=image.container_env({}),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 78
    assert "MONGODB_URI: required in production" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_production_module_imports_in_the_no_dev_environment(image: BuiltImage) -> None:
    """The drivers and SDKs load lazily (after the first answer, or on first use), so serving
    /health does not prove they are installed: import every module of the app instead."""
    script = (
        "import importlib, pkgutil, sys\n"
        f"for package in {PRODUCTION_PACKAGES!r}:\n"
        "    importlib.import_module(package)\n"
        "    for info in pkgutil.walk_packages([package], prefix=package + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "print(len(sys.modules))\n"
    )
    result = subprocess.run(
        ["python", "-c", script],
        cwd=image.workdir(),
        env=image.container_env({}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) > 500  # the drivers and SDKs really loaded


def test_renders_start_command_serves_from_the_same_build(image: BuiltImage) -> None:
    """Render builds with the same `uv sync --frozen --no-dev` into .venv in the checkout
    (test_platform_config.py checks the command) and starts with its startCommand."""
    service = render_service()
    argv = str(service["startCommand"]).split()
    env = {e["key"]: str(e["value"]) for e in service["envVars"] if "value" in e}
    with serving(image, argv, env) as server:
        assert http_get(server.port, "/health")[0] == 200
