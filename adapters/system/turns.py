"""RoomTurns on asyncio: one lock per room while a send holds or awaits it."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from domain.chat.errors import RoomBusy


class LocalRoomTurns:
    """The turns of this process's rooms; a room's lock is gone with its last holder or
    waiter, so idle rooms cost nothing."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def __len__(self) -> int:
        """The rooms whose turn is held or awaited now."""
        return len(self._locks)

    @asynccontextmanager
    async def turn(self, room_id: str, wait_s: float) -> AsyncIterator[None]:
        lock = self._locks.get(room_id)
        if lock is None:
            self._locks[room_id] = lock = asyncio.Lock()
        try:
            async with asyncio.timeout(wait_s):
                await lock.acquire()
        except TimeoutError:
            raise RoomBusy() from None
        try:
            yield
        finally:
            lock.release()
