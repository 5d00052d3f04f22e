"""A served FlowHub whose log is kept: its stdout (JSON lines) is drained into a list by a
thread, so a chatty server never blocks on a full pipe and a test can assert on what it logged."""

from __future__ import annotations

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
        """Log lines at ERROR (or a traceback printed outside the JSON logs), except those
        containing one of `allowed`."""
        return [
            line
            for line in self.lines
            if ('"level":"ERROR"' in line or "Traceback" in line)
            and not any(a in line for a in allowed)
        ]


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
