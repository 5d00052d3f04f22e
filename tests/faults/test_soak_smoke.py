"""A short run of the chat soak (bench/soak.py): clients over two instances sending and
reconnecting at random; every acknowledged message in history exactly once and in order, and
delivered to every member connected through its send. The full run is `make soak`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import _parse, soak_run

pytestmark = [pytest.mark.faults]


async def test_a_short_chat_soak_over_two_instances_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    args = _parse(["--clients", "30", "--duration", "15", "--stay-s", "5", "--send-every-s", "2"])
    lines, ok = await soak_run(args, tmp_path)
    print("\n" + "\n".join(lines))
    assert ok, "\n".join(lines)
