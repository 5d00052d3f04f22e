"""The reference client's JavaScript, checked without a browser: every module parses, and
socket.io-client reaches the page only inside the @flowhub/client bundle (whose equality with a
fresh build tests/api/test_typescript_client.py checks)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from entrypoints.http.web import WEB_ROOT
from tests.support.processes import ROOT

pytestmark = pytest.mark.e2e

PACKAGE = ROOT / "clients" / "typescript"


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node (Node.js 18+) is needed: apt-get install nodejs npm")
    return found


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


def test_socketio_client_comes_inside_the_package_bundle_with_its_license() -> None:
    bundle = (WEB_ROOT / "vendor" / "flowhub-client.js").read_text()
    lock = json.loads((PACKAGE / "package-lock.json").read_text())
    locked = lock["packages"]["node_modules/socket.io-client"]["version"]
    assert locked  # the version the bundle was built from
    assert "flowhub-client.LICENSES.txt" in bundle.splitlines()[1]
    licenses = (WEB_ROOT / "vendor" / "flowhub-client.LICENSES.txt").read_text()
    assert f"socket.io-client {locked} (MIT)" in licenses
    assert "Permission is hereby granted" in licenses
    for source in (WEB_ROOT / "js").glob("*.js"):
        text = source.read_text()
        assert "socket.io" not in re.sub(r"//.*", "", text), source  # one copy: the bundle's
