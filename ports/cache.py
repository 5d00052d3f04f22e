from __future__ import annotations

from typing import Protocol


class Cache(Protocol):
    """Short-lived copies (`cache:...` keys); every entry has a TTL. A miss is always safe."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_s: int) -> None: ...

    async def delete(self, key: str) -> None: ...
