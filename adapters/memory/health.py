from __future__ import annotations


class MemoryProbe:
    """In-memory adapters live in the process: they are up while the process is."""

    adapter = "memory"

    def __init__(self, name: str) -> None:
        self.name = name

    async def check(self) -> None:
        return None
