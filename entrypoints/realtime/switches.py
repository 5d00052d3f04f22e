"""Bench-only switches for issue 21's realtime changes, read once when the server is built.

Each switch turns one of python-socketio/python-engineio's per-recipient overrides back to
upstream's code, so bench/fanout_ab.py can size each one inside the same server build
(`FLOWHUB_AB_<NAME>=0`). Production never sets them: unset or any value but `0` is on.
They are not settings (config/settings.py): nothing but the A/B benchmark has a reason to turn
an override off, and an operator who did would only make chat slower.

- `FLOWHUB_AB_FANOUT`: local fan-out in turn, not a task per recipient (adapters/socketio/fanout.py)
- `FLOWHUB_AB_WRITER`: engine.io writers with one deadline each, not a timer per packet
  (adapters/socketio/engine.py)
- `FLOWHUB_AB_SKIP_OWN`: the Redis listener drops its own messages before decoding them
  (adapters/socketio/manager.py)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RealtimeSwitches:
    fanout: bool = True
    writer: bool = True
    skip_own: bool = True

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> RealtimeSwitches:
        env = os.environ if environ is None else environ
        return cls(
            fanout=env.get("FLOWHUB_AB_FANOUT") != "0",
            writer=env.get("FLOWHUB_AB_WRITER") != "0",
            skip_own=env.get("FLOWHUB_AB_SKIP_OWN") != "0",
        )
