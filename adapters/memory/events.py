from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    name: str
    fields: dict[str, str | int]
    notable: bool = False


class MemoryEventLog:
    """Keeps the workflow events, in order, for tests to read."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []

    def record(self, event: str, /, **fields: str | int) -> None:
        self.events.append(RecordedEvent(event, dict(fields)))

    def warn(self, event: str, /, **fields: str | int) -> None:
        self.events.append(RecordedEvent(event, dict(fields), notable=True))

    def named(self, name: str) -> list[dict[str, str | int]]:
        return [e.fields for e in self.events if e.name == name]

    def names(self) -> list[str]:
        return [e.name for e in self.events]
