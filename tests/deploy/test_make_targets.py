"""`make run` installs only what serving needs; `make test` installs everything. Checked on a
fresh environment in a temporary directory (the Makefile's VENV), from the same lock."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.deploy

DEV_ONLY = ("pytest", "mongoeco", "moto", "mypy", "ruff", "playwright", "schemathesis")
UV = ROOT / ".uv" / "bin" / "uv"


def _make(*args: str, venv: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args, f"VENV={venv}", f"UV={UV}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _syncs(dry_run: str) -> list[list[str]]:
    return [line.split() for line in dry_run.splitlines() if " sync " in f" {line} "]


def test_make_run_syncs_without_the_dev_group_and_make_test_with_it(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    run = _make("-n", "run", venv=venv)
    assert run.returncode == 0, run.stderr
    [sync] = _syncs(run.stdout)
    assert {"--frozen", "--no-dev"} <= set(sync)
    assert not {"--group", "--all-groups", "--dev"} & set(sync)
    test = _make("-n", "install", venv=venv)
    [full] = _syncs(test.stdout)
    assert "--frozen" in full
    assert "--no-dev" not in full


def test_the_serving_install_has_the_app_and_no_test_tool(tmp_path: Path) -> None:
    if shutil.which("make") is None or not UV.exists():
        pytest.fail("make and .uv/bin/uv (make install) are needed")
    venv = tmp_path / ".venv"
    done = _make("install-serve", venv=venv)
    assert done.returncode == 0, done.stderr
    [site] = (venv / "lib").glob("python3.*/site-packages")
    installed = {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}
    assert {"uvicorn", "quart", "motor", "redis", "aiobotocore"} <= installed
    assert not set(DEV_ONLY) & installed
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import entrypoints.asgi, config.real"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stderr
