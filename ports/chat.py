"""Ports of the chat: rooms, messages, presence and typing state, and realtime delivery."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.chat.model import Message, PresenceRenewal, Room


class RoomRepository(Protocol):
    """Rooms with their members and their message counter (`last_seq`)."""

    async def add(self, room: Room) -> None: ...

    async def get(self, room_id: str) -> Room | None: ...

    async def for_member(self, user_id: str) -> list[Room]:
        """The rooms `user_id` is a member of, oldest first."""
        ...

    async def add_member(self, room_id: str, user_id: str) -> Room | None:
        """Add a member (idempotent); the room as it is now, None when there is no room."""
        ...

    async def next_seq(self, room_id: str) -> int:
        """Atomically increment the room's counter and return the new value (1 first):
        concurrent callers, on any instance, never get the same number."""
        ...


class MessageRepository(Protocol):
    """Messages, unique by (room, seq) and by (room, sender, client_id)."""

    async def add(self, message: Message) -> None:
        """Store a message; raises `DuplicateMessage` when its (room, seq) or its
        (room, sender, client_id) is taken."""
        ...

    async def by_client_id(
        self, room_id: str, sender_id: str, client_id: str
    ) -> Message | None: ...

    async def page(
        self, room_id: str, limit: int, before: int | None = None, after: int | None = None
    ) -> list[Message]:
        """At most `limit` messages ascending by seq: with `after`, the first ones with
        seq > after; otherwise the last ones with seq < before (or the latest)."""
        ...


class PresenceStore(Protocol):
    """Who is online: `presence:<userId>` keys that expire unless renewed.

    Raises `ServiceUnavailable` when its store cannot be reached."""

    async def renew(
        self, user_ids: Sequence[str], ttl_s: int, lapse_s: float | None = None
    ) -> PresenceRenewal:
        """Mark every user online for `ttl_s` more seconds, in one round trip. Says who was
        not online before, and who lapsed: users whose renewals (by whichever instance)
        stopped more than `lapse_s` (default `ttl_s`) ago, each reported once across all
        instances."""
        ...

    async def remove(self, user_ids: Sequence[str]) -> None: ...

    async def online(self, user_ids: Sequence[str]) -> set[str]:
        """Users whose key exists and whose announcement has not lapsed."""
        ...


class TypingStore(Protocol):
    """Who is typing where: `typing:<roomId>:<userId>` keys that expire unless renewed."""

    async def start(self, room_id: str, user_id: str, ttl_s: int) -> bool:
        """Set or renew the state; True when the user was not typing there before."""
        ...

    async def stop(self, room_id: str, user_id: str) -> bool:
        """End the state; True when the user was typing there."""
        ...

    async def is_typing(self, room_id: str, user_id: str) -> bool: ...


class RealtimeBroadcaster(Protocol):
    """Events to connected clients, on whichever instance they are connected."""

    async def message_new(self, message: Message) -> None:
        """`message:new` to every socket in the room, the sender's included."""
        ...

    async def typing(self, room_id: str, user_id: str, is_typing: bool) -> None:
        """`typing` to the others in the room."""
        ...

    async def presence(self, user_id: str, status: str, room_ids: Sequence[str]) -> None:
        """`presence` to the rooms of that user."""
        ...

    async def room_added(self, room: Room, user_id: str) -> None:
        """Put the user's connected sockets in the room and send them `room:added`."""
        ...
