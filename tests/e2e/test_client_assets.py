"""The reference client's JavaScript, checked without a browser: the vendored socket.io-client
is byte for byte the npm package that tests/interop locks, and every module parses."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from entrypoints.http.web import WEB_ROOT
from tests.support.processes import ROOT

pytestmark = pytest.mark.e2e

INTEROP = ROOT / "tests" / "interop"
VENDORED = WEB_ROOT / "vendor" / "socket.io.esm.min.js"


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node (Node.js 18+) is needed: apt-get install nodejs npm")
    return found


def test_the_vendored_socketio_client_is_the_locked_npm_package() -> None:
    package = INTEROP / "node_modules" / "socket.io-client"
    if not package.is_dir():
        pytest.fail("tests/interop/node_modules is missing: `make services` runs `npm ci` there")
    lock = json.loads((INTEROP / "package-lock.json").read_text())
    locked = lock["packages"]["node_modules/socket.io-client"]["version"]
    installed = json.loads((package / "package.json").read_text())["version"]
    noted = re.search(
        r"socket\.io-client (\d+\.\d+\.\d+)", (WEB_ROOT / "vendor" / "README.md").read_text()
    )
    assert noted is not None
    assert locked == installed == noted.group(1)
    assert VENDORED.read_bytes() == (package / "dist" / "socket.io.esm.min.js").read_bytes()
    assert f"Socket.IO v{locked}" in VENDORED.read_text()[:200]
    assert (WEB_ROOT / "vendor" / "socket.io-client.LICENSE").read_bytes() == (
        package / "LICENSE"
    ).read_bytes()


def test_every_module_of_the_client_parses() -> None:
    # stdin as a module: `node --check file.js` does not report a syntax error in a .js
    # file that uses `import` (Node 20 parses it neither as CommonJS nor as a module)
    sources = sorted((WEB_ROOT / "js").glob("*.js"))
    assert {s.name for s in sources} >= {"api.js", "app.js", "chat.js"}
    for source in sources:
        checked = subprocess.run(
            [node(), "--input-type=module", "--check"],
            input=source.read_text(),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert checked.returncode == 0, f"{source.name}: {checked.stderr}"
