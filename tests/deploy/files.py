"""The deployment files, read as their platforms read them.

fly.toml with tomllib; render.yaml and the workflows with PyYAML's safe loader (PyYAML is not a
dependency of FlowHub: the dev group has it through moto, responses and schemathesis, so these
tests only run where the dev environment is installed, which is where tests run).
"""

from __future__ import annotations

import re
import tomllib
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

from tests.support.processes import ROOT

FLY_TOML = ROOT / "fly.toml"
RENDER_YAML = ROOT / "render.yaml"
WORKFLOWS = ROOT / ".github" / "workflows"
MAKEFILE = ROOT / "Makefile"

# Variables whose values are credentials: never in a file of the repository.
SECRETS = {
    "MONGODB_URI",
    "REDIS_URL",
    "JWT_SECRET",
    "JWT_REFRESH_SECRET",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "ROLLBAR_TOKEN",
    "LOGTAIL_TOKEN",
}


def fly() -> dict[str, Any]:
    with FLY_TOML.open("rb") as f:
        return tomllib.load(f)


def render() -> dict[str, Any]:
    data = yaml.safe_load(RENDER_YAML.read_text())
    assert isinstance(data, dict)
    return data


def render_service() -> dict[str, Any]:
    services = render()["services"]
    assert isinstance(services, list)
    assert len(services) == 1, "render.yaml describes the one development web service"
    service = services[0]
    assert isinstance(service, dict)
    return service


def render_env(service: dict[str, Any]) -> dict[str, str]:
    """The plain `value` variables (generated ones have no value in the file)."""
    return {e["key"]: str(e["value"]) for e in service["envVars"] if "value" in e}


def workflow(name: str = "ci.yml") -> dict[str, Any]:
    # BaseLoader builds only strings, lists and dicts (nothing is instantiated), and keeps the
    # `on:` key a string where YAML 1.1 would read it as True
    data = yaml.load((WORKFLOWS / name).read_text(), Loader=yaml.BaseLoader)  # noqa: S506
    assert isinstance(data, dict)
    return data


def makefile_variable(name: str) -> str:
    match = re.search(rf"^{name}\s*:?=\s*(\S+)\s*$", MAKEFILE.read_text(), re.MULTILINE)
    assert match is not None, f"{name} is not set in the Makefile"
    return match.group(1)


def makefile_markers() -> dict[str, set[str]]:
    """make target -> the pytest markers it runs (`$(PYTEST) -m <expr>`; a bare `$(PYTEST)`
    runs every marker: '*')."""
    targets: dict[str, set[str]] = {}
    current: str | None = None
    for line in MAKEFILE.read_text().splitlines():
        head = re.match(r"^([a-z][a-z0-9-]*):", line)
        if head:
            current = head.group(1)
            continue
        if current and line.startswith("\t") and "$(PYTEST)" in line:
            expr = re.search(r"\$\(PYTEST\)\s+-m\s+(\"[^\"]+\"|\S+)", line)
            words = re.findall(r"[a-z_][a-z0-9_]*", expr.group(1)) if expr else ["*"]
            # `-m "not slow"` runs every marker but slow: a negated word is not one it runs
            negated = {b for a, b in pairwise(words) if a == "not"}
            markers = {w for w in words if w not in {"and", "or", "not"} | negated} or {"*"}
            targets.setdefault(current, set()).update(markers)
    return targets


def read(path: Path) -> str:
    return path.read_text()
