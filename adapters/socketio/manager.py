"""python-socketio's Redis manager, plus one thing it cannot do: put the sockets of a user that
are connected to *other* instances into a room.

`room:added` is emitted to `user:<id>` (every socket of the user, wherever it is connected);
each instance, as it delivers that event to its own sockets, makes them join `room:<id>` too.
Local emits pass through the same `_handle_emit`, so one path serves both.
"""

from __future__ import annotations

from typing import Any

import socketio

from adapters.socketio.broadcaster import NAMESPACE, room_of


class RoomJoiningRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("event") == "room:added":
            await self._join_added_room(message)
        await super()._handle_emit(message)

    async def _join_added_room(self, message: dict[str, Any]) -> None:
        target, data = message.get("room"), message.get("data")
        if not (isinstance(target, str) and target.startswith("user:")):
            return
        room = data[0] if isinstance(data, list) and data else None
        room_id = room.get("id") if isinstance(room, dict) else None
        if not isinstance(room_id, str):
            return
        namespace = message.get("namespace") or NAMESPACE
        for sid, _ in list(self.get_participants(namespace, target)):
            await socketio.AsyncManager.enter_room(self, sid, namespace, room_of(room_id))
