"""The turn of a room: the sends of one room go one at a time on this instance, so the
`message:new` events it emits leave in `seq` order (the counter is atomic in the store; the
order of the emits is not, without a turn)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol


class RoomTurns(Protocol):
    def turn(self, room_id: str, wait_s: float) -> AbstractAsyncContextManager[None]:
        """Hold `room_id`'s turn for the block; raises `RoomBusy` when it does not come
        within `wait_s` (the sends ahead hold it: the store is slow)."""
        ...
