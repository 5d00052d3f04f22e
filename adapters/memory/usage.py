"""The in-memory stores' size, estimated: no database to ask, so the length of what they
hold written out (a rough stand-in for BSON; development and tests only)."""

from __future__ import annotations


class MemoryDatabaseUsage:
    def __init__(self, *stores: object) -> None:
        self._stores = stores

    async def bytes_used(self) -> int:
        return sum(len(repr(vars(store))) for store in self._stores if hasattr(store, "__dict__"))


class NoCommandMeter:
    """Without Redis there is no command to count."""

    async def this_month(self) -> int:
        return 0


__all__ = ["MemoryDatabaseUsage", "NoCommandMeter"]
