"""Chat stores in memory: rooms with their counters, messages, the cluster link of a lone
instance, and a broadcaster that records events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from domain.chat.errors import DuplicateMessage
from domain.chat.model import Message, Room, RoomsOverview


class MemoryRoomRepository:
    def __init__(self) -> None:
        self._rooms: dict[str, Room] = {}

    async def add(self, room: Room) -> None:
        self._rooms[room.id] = room

    async def get(self, room_id: str) -> Room | None:
        return self._rooms.get(room_id)

    async def for_member(self, user_id: str) -> list[Room]:
        return _oldest_first(r for r in self._rooms.values() if r.has_member(user_id))

    async def invited_to(self, user_id: str) -> list[Room]:
        return _oldest_first(r for r in self._rooms.values() if r.has_invited(user_id))

    async def invite(self, room_id: str, user_id: str) -> Room | None:
        room = self._rooms.get(room_id)
        if room is None or room.has_member(user_id):
            return None
        if not room.has_invited(user_id):
            room = replace(room, invited_ids=(*room.invited_ids, user_id))
            self._rooms[room_id] = room
        return room

    async def accept(self, room_id: str, user_id: str, invitee: str | None = None) -> Room | None:
        room = self._rooms.get(room_id)
        if room is None or not room.has_invited(invitee or user_id):
            return None
        invited = tuple(u for u in room.invited_ids if u not in (user_id, invitee))
        self._rooms[room_id] = room = replace(room.with_member(user_id), invited_ids=invited)
        return room

    async def remove(self, room_id: str, user_id: str) -> Room | None:
        room = self._rooms.get(room_id)
        if room is None:
            return None
        room = replace(
            room,
            member_ids=tuple(u for u in room.member_ids if u != user_id),
            invited_ids=tuple(u for u in room.invited_ids if u != user_id),
        )
        self._rooms[room_id] = room
        return room

    async def overview(self, limit: int) -> RoomsOverview:
        rooms = list(self._rooms.values())
        busiest = sorted(rooms, key=lambda r: (r.last_seq, r.id), reverse=True)[:limit]
        recent = sorted(rooms, key=lambda r: (r.created_at, r.id), reverse=True)[:limit]
        return RoomsOverview(len(rooms), tuple(busiest), tuple(recent))

    async def next_seq(self, room_id: str) -> int:
        room = self._rooms[room_id]
        self._rooms[room_id] = room = replace(room, last_seq=room.last_seq + 1)
        return room.last_seq


def _oldest_first(rooms: Iterable[Room]) -> list[Room]:
    return sorted(rooms, key=lambda r: (r.created_at, r.id))


class MemoryReadMarks:
    def __init__(self) -> None:
        self._marks: dict[tuple[str, str], int] = {}

    async def advance(self, room_id: str, user_id: str, seq: int) -> int:
        key = (room_id, user_id)
        self._marks[key] = max(seq, self._marks.get(key, 0))
        return self._marks[key]

    async def of_user(self, user_id: str, room_ids: Sequence[str]) -> dict[str, int]:
        return {r: self._marks[(r, user_id)] for r in room_ids if (r, user_id) in self._marks}

    async def of_room(self, room_id: str) -> dict[str, int]:
        return {u: seq for (r, u), seq in self._marks.items() if r == room_id}

    async def forget(self, user_id: str) -> None:
        for key in [k for k in self._marks if k[1] == user_id]:
            del self._marks[key]


class MemoryMessageRepository:
    def __init__(self) -> None:
        self._by_room: dict[str, dict[int, Message]] = {}
        self._by_client: dict[tuple[str, str, str], Message] = {}

    async def add(self, message: Message) -> None:
        room = self._by_room.setdefault(message.room_id, {})
        client_key = (message.room_id, message.sender_id, message.client_id or "")
        if message.seq in room or (message.client_id and client_key in self._by_client):
            raise DuplicateMessage()
        room[message.seq] = message
        if message.client_id:
            self._by_client[client_key] = message

    async def by_client_id(self, room_id: str, sender_id: str, client_id: str) -> Message | None:
        return self._by_client.get((room_id, sender_id, client_id))

    async def page(
        self, room_id: str, limit: int, before: int | None = None, after: int | None = None
    ) -> list[Message]:
        messages = sorted(self._by_room.get(room_id, {}).values(), key=lambda m: m.seq)
        if after is not None:
            return [m for m in messages if m.seq > after][:limit]
        if before is not None:
            messages = [m for m in messages if m.seq < before]
        return messages[-limit:] if limit else []

    async def get(self, room_id: str, message_id: str) -> Message | None:
        found = (m for m in self._by_room.get(room_id, {}).values() if m.id == message_id)
        return next(found, None)

    async def edit(
        self, room_id: str, message_id: str, body: str, edited_at: datetime, edit_id: str | None
    ) -> Message | None:
        message = await self.get(room_id, message_id)
        if message is None or message.deleted:
            return None
        return self._put(replace(message, body=body, edited_at=edited_at, edit_id=edit_id))

    async def delete(self, room_id: str, message_id: str) -> Message | None:
        message = await self.get(room_id, message_id)
        if message is None or message.deleted:
            return message
        return self._put(replace(message, body="", deleted=True, edit_id=None, attachments=()))

    async def has_attachment(self, room_id: str, file_id: str) -> bool:
        return any(
            file_id in m.attachment_ids and not m.deleted
            for m in self._by_room.get(room_id, {}).values()
        )

    async def tombstone_sender(self, sender_id: str) -> int:
        theirs = [
            m
            for room in self._by_room.values()
            for m in room.values()
            if m.sender_id == sender_id and not m.deleted
        ]
        for message in theirs:
            self._put(replace(message, body="", deleted=True, edit_id=None, attachments=()))
        return len(theirs)

    def _put(self, message: Message) -> Message:
        self._by_room[message.room_id][message.seq] = message
        if message.client_id:
            self._by_client[(message.room_id, message.sender_id, message.client_id)] = message
        return message


class LoneInstance:
    """The cluster link of an instance without Redis: there is no other instance to tell.
    Records what it was told (tests read `told`)."""

    def __init__(self) -> None:
        self.told: list[tuple[str, str]] = []

    async def user_online(self, user_id: str) -> None:
        self.told.append(("online", user_id))

    async def user_offline(self, user_id: str) -> None:
        self.told.append(("offline", user_id))


@dataclass(frozen=True, slots=True)
class Emitted:
    event: str
    data: Any
    to: str  # "room:<id>" or "user:<id>"


class MemoryBroadcaster:
    """Records what would be emitted, in order; tests read `events`."""

    def __init__(self) -> None:
        self.events: list[Emitted] = []

    async def message_new(self, message: Message) -> None:
        self.events.append(Emitted("message:new", message, f"room:{message.room_id}"))

    async def message_updated(self, message: Message) -> None:
        self.events.append(Emitted("message:updated", message, f"room:{message.room_id}"))

    async def message_deleted(self, message: Message) -> None:
        self.events.append(Emitted("message:deleted", message, f"room:{message.room_id}"))

    async def typing(
        self, room_id: str, user_id: str, is_typing: bool, *, here_only: bool = False
    ) -> None:
        data = {"room_id": room_id, "user_id": user_id, "is_typing": is_typing}
        self.events.append(Emitted("typing", data, f"room:{room_id}"))

    async def presence(self, user_id: str, status: str, room_ids: Sequence[str]) -> None:
        for room_id in room_ids:
            data = {"user_id": user_id, "status": str(status)}
            self.events.append(Emitted("presence", data, f"room:{room_id}"))

    async def presence_snapshot(self, user_id: str, online_ids: Sequence[str]) -> None:
        for online_id in online_ids:
            data = {"user_id": online_id, "status": "online"}
            self.events.append(Emitted("presence", data, f"user:{user_id}"))

    async def room_added(self, room: Room, user_id: str) -> None:
        self.events.append(Emitted("room:added", room, f"user:{user_id}"))

    async def room_invited(self, room: Room, user_id: str) -> None:
        self.events.append(Emitted("room:invited", room, f"user:{user_id}"))

    async def room_updated(self, room: Room) -> None:
        self.events.append(Emitted("room:updated", room, f"room:{room.id}"))

    async def member_added(self, room: Room, user_id: str) -> None:
        data = {"room_id": room.id, "user_id": user_id}
        self.events.append(Emitted("room:member_added", data, f"room:{room.id}"))

    async def receipt(self, room_id: str, user_id: str, seq: int) -> None:
        data = {"room_id": room_id, "user_id": user_id, "seq": seq}
        self.events.append(Emitted("receipt", data, f"room:{room_id}"))

    async def member_left(self, room: Room, user_id: str) -> None:
        data = {"room_id": room.id, "user_id": user_id}
        self.events.append(Emitted("room:member_left", data, f"room:{room.id}"))

    def of(self, event: str) -> list[Emitted]:
        return [e for e in self.events if e.event == event]
