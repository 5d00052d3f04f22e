"""RealtimeBroadcaster on python-socketio: events to Socket.IO rooms `room:<id>` (a chat
room's sockets) and `user:<id>` (every socket of a user). With the Redis manager configured,
an emit on one instance reaches sockets on every instance, but only while another instance
lives: alone, an emit goes to this instance's sockets with python-socketio's `ignore_queue`
(its public way past the queue), and no PUBLISH is spent on an event nobody else would hear.

The server is attached when the realtime entry point is built; until then (an HTTP-only app)
events go nowhere.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from domain.chat.model import Message, Room
from domain.chat.presence import Presence
from schemas import chat as wire

log = logging.getLogger("flowhub.realtime")

NAMESPACE = "/"


def room_of(room_id: str) -> str:
    return f"room:{room_id}"


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


class SocketIoBroadcaster:
    def __init__(self, presence: Presence | None = None) -> None:
        self._sio: Any = None
        self._presence = presence

    def attach(self, sio: Any) -> None:
        self._sio = sio

    async def _emit(
        self, event: str, data: Any, to: str, skip_sid: Any = None, here_only: bool = False
    ) -> None:
        if self._sio is None:
            return
        alone = here_only or self._presence is None or not self._presence.has_peers()
        try:
            await self._sio.emit(
                event, data, to=to, skip_sid=skip_sid, namespace=NAMESPACE, ignore_queue=alone
            )
        except Exception:  # delivery is best effort: the message is stored either way
            log.warning("could not emit %s", event, exc_info=True)

    async def message_new(self, message: Message) -> None:
        data = wire.Message.from_domain(message).model_dump(mode="json")
        await self._emit("message:new", data, room_of(message.room_id))

    async def message_updated(self, message: Message) -> None:
        data = wire.Message.from_domain(message).model_dump(mode="json")
        await self._emit("message:updated", data, room_of(message.room_id))

    async def message_deleted(self, message: Message) -> None:
        data = wire.Message.from_domain(message).model_dump(mode="json")
        await self._emit("message:deleted", data, room_of(message.room_id))

    async def typing(
        self, room_id: str, user_id: str, is_typing: bool, *, here_only: bool = False
    ) -> None:
        data = wire.Typing(room_id=room_id, user_id=user_id, is_typing=is_typing).model_dump()
        # "to the others": the typist's own sockets are skipped (on this instance)
        skip = self._sids_of(user_id)
        await self._emit("typing", data, room_of(room_id), skip_sid=skip, here_only=here_only)

    async def presence(self, user_id: str, status: str, room_ids: Sequence[str]) -> None:
        data = wire.PresenceChange.model_validate(
            {"user_id": user_id, "status": status}
        ).model_dump()
        for room_id in room_ids:
            await self._emit("presence", data, room_of(room_id))

    async def presence_snapshot(self, user_id: str, online_ids: Sequence[str]) -> None:
        for online_id in online_ids:
            data = wire.PresenceChange.model_validate(
                {"user_id": online_id, "status": "online"}
            ).model_dump()
            await self._emit("presence", data, user_room(user_id))

    async def room_added(self, room: Room, user_id: str) -> None:
        if self._sio is not None:
            for sid in self._sids_of(user_id):
                await self._sio.enter_room(sid, room_of(room.id), namespace=NAMESPACE)
        data = wire.Room.from_domain(room).model_dump(mode="json")
        await self._emit("room:added", data, user_room(user_id))

    async def room_invited(self, room: Room, user_id: str) -> None:
        data = wire.Room.from_domain(room).model_dump(mode="json")
        await self._emit("room:invited", data, user_room(user_id))

    async def room_updated(self, room: Room) -> None:
        data = wire.Room.from_domain(room).model_dump(mode="json")
        await self._emit("room:updated", data, room_of(room.id))

    async def member_added(self, room: Room, user_id: str) -> None:
        data = wire.Membership(room_id=room.id, user_id=user_id).model_dump()
        await self._emit("room:member_added", data, room_of(room.id))

    async def receipt(self, room_id: str, user_id: str, seq: int) -> None:
        data = wire.Receipt(room_id=room_id, user_id=user_id, seq=seq).model_dump()
        # to the others: the reader's own sockets (on this instance) are skipped
        await self._emit("receipt", data, room_of(room_id), skip_sid=self._sids_of(user_id))

    async def member_left(self, room: Room, user_id: str) -> None:
        data = wire.Membership(room_id=room.id, user_id=user_id).model_dump()
        await self._emit("room:member_left", data, room_of(room.id))
        # this instance's sockets of the user; the others' leave as they deliver the event
        # (adapters/socketio/manager.py)
        if self._sio is not None:
            for sid in self._sids_of(user_id):
                await self._sio.leave_room(sid, room_of(room.id), namespace=NAMESPACE)

    def _sids_of(self, user_id: str) -> list[str]:
        if self._sio is None:
            return []
        participants = self._sio.manager.get_participants(NAMESPACE, user_room(user_id))
        return [sid for sid, _ in participants]
