"""A served FlowHub whose log is kept (running_server writes it to a file, never a pipe), so a
test can assert on what it logged."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from tests.support.processes import ServerProcess, running_server


@dataclass
class Served:
    server: ServerProcess

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def lines(self) -> list[str]:
        return self.server.log_text().splitlines()

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
        yield Served(server)
