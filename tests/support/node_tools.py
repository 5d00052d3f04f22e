"""The Node.js tools of the TypeScript client's package (clients/typescript), which `make
services` installs with `npm ci`: redocly, openapi-typescript, tsc."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "typescript"


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node (Node.js 20.19+) is needed: apt-get install nodejs npm")
    return found


def tool(name: str) -> str:
    """The path of a tool in clients/typescript/node_modules/.bin."""
    node()
    path = CLIENT / "node_modules" / ".bin" / name
    if not path.exists():
        pytest.fail(
            f"{name} is missing: `make services` installs clients/typescript's tools (npm ci)"
        )
    return str(path)


def redocly_lint(document: dict[str, Any], folder: Path, name: str) -> dict[str, Any]:
    """`redocly lint --format=json` on `document` (written to `folder/name`): its report."""
    path = folder / name
    path.write_text(json.dumps(document))
    done = subprocess.run(
        [tool("redocly"), "lint", str(path), "--format=json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=CLIENT,
    )
    report: dict[str, Any] = json.loads(done.stdout)
    return report
