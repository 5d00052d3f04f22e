"""A served FlowHub whose log is kept: its stdout (JSON lines) is drained into a list by a
thread, so a chatty server never blocks on a full pipe and a test can assert on what it logged."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.support.processes import ServerProcess, running_server


@dataclass
class Served:
    server: ServerProcess
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def errors(self, *, allowed: tuple[str, ...] = ()) -> list[str]:
        """Log lines at ERROR or CRITICAL, and any line that is not a JSON log line (a
        library printing to stderr on its own), except those containing one of `allowed`."""
        found = []
        for line in self.lines:
            try:
                level = json.loads(line).get("level")
            except ValueError:
                level = "NOT JSON"
            if level in ("ERROR", "CRITICAL", "NOT JSON") and not any(a in line for a in allowed):
                found.append(line)
        return found


@contextmanager
def served(module: str, env: Mapping[str, str]) -> Iterator[Served]:
    with running_server(module, env={"LOG_LEVEL": "WARNING", **env}) as server:
        assert server.process.stdout is not None
        stdout = server.process.stdout
        kept = Served(server)

        def drain() -> None:
            for raw in iter(stdout.readline, b""):
                kept.lines.append(raw.decode(errors="replace"))

        threading.Thread(target=drain, daemon=True).start()
        yield kept
