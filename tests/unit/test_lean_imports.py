"""entrypoints/lean_imports.py: the server's socketio and engineio bind the names the real
packages bind, to the same objects, and building the app imports no client stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

# Every name of each package's `__all__`, as "module.qualname" (None where the package binds None).
DESCRIBE = """
import json, socketio, engineio

def describe(value):
    return None if value is None else f"{value.__module__}.{value.__qualname__}"

print(json.dumps({
    p.__name__: {name: describe(getattr(p, name)) for name in p.__all__}
    for p in (socketio, engineio)
}))
"""


def names(first: str) -> dict[str, dict[str, str | None]]:
    done = subprocess.run(
        [sys.executable, "-c", first + "\n" + DESCRIBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    described: dict[str, dict[str, str | None]] = json.loads(done.stdout)
    return described


def test_the_lean_packages_bind_what_the_real_ones_bind() -> None:
    real = names("")
    lean = names("import entrypoints")
    assert lean == real


def test_building_the_app_imports_no_client_stack() -> None:
    code = (
        "import sys; from entrypoints.asgi import create_app; from config.settings import "
        "load_settings; create_app(load_settings({'APP_ENV': 'test'})); import socketio; "
        "assert socketio.exceptions.ConnectionRefusedError; "
        "print(sorted({'aiohttp', 'requests', 'websocket', 'socketio.client', "
        "'socketio.async_client', 'engineio.client', 'engineio.async_client'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
