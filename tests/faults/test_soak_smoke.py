"""A short run of the chat soak (bench/soak.py): clients over two instances sending and
reconnecting at random; every acknowledged message in history exactly once and in order, and
delivered to every member connected through its send. The full run is `make soak`.

The soak runs as `make soak` runs it, as a process: the tests never import bench/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import ROOT

pytestmark = [pytest.mark.faults]


def test_a_short_chat_soak_over_two_instances_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    args = ["--clients", "30", "--duration", "15", "--stay-s", "5", "--send-every-s", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.soak", *args, "--results", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = done.stdout.splitlines()
    print("\n" + "\n".join(lines))
    ok = done.returncode == 0
    assert ok, "\n".join(lines) + done.stderr[-3000:]
