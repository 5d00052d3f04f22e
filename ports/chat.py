"""Ports of the chat: rooms, messages, the other instances, and realtime delivery."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from domain.chat.model import Message, Room, RoomsOverview


class RoomRepository(Protocol):
    """Rooms with their members and their message counter (`last_seq`)."""

    async def add(self, room: Room) -> None: ...

    async def get(self, room_id: str) -> Room | None: ...

    async def for_member(self, user_id: str) -> list[Room]:
        """The rooms `user_id` is a member of, oldest first."""
        ...

    async def invited_to(self, user_id: str) -> list[Room]:
        """The rooms `user_id` is invited to (and not a member of), oldest first."""
        ...

    async def invite(self, room_id: str, user_id: str) -> Room | None:
        """Invite a user who is not a member (idempotent): the room as it is now; None when
        there is no room or the user is a member already."""
        ...

    async def accept(self, room_id: str, user_id: str, invitee: str | None = None) -> Room | None:
        """Atomically make an invited user a member: the room as it is now; None when there
        is no room or no such invitation (so of concurrent accepts, one changes the room).
        `invitee` answers an invitation made under another name (an email invitation's): it
        must be invited, and both it and `user_id` leave the invitations."""
        ...

    async def remove(self, room_id: str, user_id: str) -> Room | None:
        """Take the user out of the members and the invitations: the room as it is now, None
        when there is no room."""
        ...

    async def overview(self, limit: int) -> RoomsOverview:
        """How many rooms, the `limit` with the most messages (`last_seq`) and the `limit`
        newest (an administrator's view)."""
        ...

    async def next_seq(self, room_id: str) -> int:
        """Atomically increment the room's counter and return the new value (1 first):
        concurrent callers, on any instance, never get the same number."""
        ...


class MessageRepository(Protocol):
    """Messages, unique by id, by (room, seq) and by (room, sender, client_id). A message with
    a client_id has the id `message_id_for(room, sender, client_id)` (ChatService makes it)."""

    async def add(self, message: Message) -> None:
        """Store a message; raises `DuplicateMessage` when its id, its (room, seq) or its
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

    async def get(self, room_id: str, message_id: str) -> Message | None:
        """The message `message_id` of the room (a tombstone included)."""
        ...

    async def edit(
        self, room_id: str, message_id: str, body: str, edited_at: datetime, edit_id: str | None
    ) -> Message | None:
        """Replace the body, in one atomic step that applies only while the message is not a
        tombstone; the message as it is after, None when there is none or it was deleted."""
        ...

    async def delete(self, room_id: str, message_id: str) -> Message | None:
        """Make the message a tombstone (`deleted`, body gone; seq, sender and times kept);
        the tombstone, None when there is no such message. Deleting a tombstone keeps it."""
        ...

    async def has_attachment(self, room_id: str, file_id: str) -> bool:
        """Whether a message of the room that is not a tombstone references the file."""
        ...

    async def tombstone_sender(self, sender_id: str) -> int:
        """Make every message of `sender_id`, in every room, a tombstone like `delete` does
        (body gone; seq, sender and times kept); how many changed. Tombstones stay as they
        are, so calling it again changes nothing."""
        ...


class ReadMarks(Protocol):
    """How far each member has read each room: the highest `seq` they have seen, never
    moving backwards."""

    async def advance(self, room_id: str, user_id: str, seq: int) -> int:
        """Move the mark up to `seq` (a lower one changes nothing); the mark as it is now."""
        ...

    async def of_user(self, user_id: str, room_ids: Sequence[str]) -> dict[str, int]:
        """The user's marks in those rooms, by room (a room never read is absent)."""
        ...

    async def of_room(self, room_id: str) -> dict[str, int]:
        """Every member's mark in the room, by user."""
        ...

    async def forget(self, user_id: str) -> None:
        """Drop the user's marks in every room. Idempotent."""
        ...


class ClusterLink(Protocol):
    """The other instances of this deployment, as far as this one knows them (none when it
    runs alone): they hear this instance's presence transitions. Best effort: a transition
    that does not reach a peer is repaired at the next liveness exchange."""

    async def user_online(self, user_id: str) -> None:
        """The first socket of `user_id` connected to this instance."""
        ...

    async def user_offline(self, user_id: str) -> None:
        """The last socket of `user_id` on this instance left."""
        ...


class RealtimeBroadcaster(Protocol):
    """Events to connected clients, on whichever instance they are connected."""

    async def message_new(self, message: Message) -> None:
        """`message:new` to every socket in the room, the sender's included."""
        ...

    async def message_updated(self, message: Message) -> None:
        """`message:updated` (an edit) to every socket in the room."""
        ...

    async def message_deleted(self, message: Message) -> None:
        """`message:deleted` (the tombstone) to every socket in the room."""
        ...

    async def typing(
        self, room_id: str, user_id: str, is_typing: bool, *, here_only: bool = False
    ) -> None:
        """`typing` to the others in the room; `here_only`: to this instance's sockets (the
        others infer it: a typing state ends with its typist's message)."""
        ...

    async def presence(self, user_id: str, status: str, room_ids: Sequence[str]) -> None:
        """`presence` to the rooms of that user."""
        ...

    async def presence_snapshot(self, user_id: str, online_ids: Sequence[str]) -> None:
        """`presence` `online` for each of `online_ids`, to `user_id`'s sockets only."""
        ...

    async def room_added(self, room: Room, user_id: str) -> None:
        """Put the user's connected sockets in the room and send them `room:added`."""
        ...

    async def room_invited(self, room: Room, user_id: str) -> None:
        """`room:invited` (the room) to the invited user's sockets."""
        ...

    async def room_updated(self, room: Room) -> None:
        """`room:updated` (the room: its name, members, invitations) to its members."""
        ...

    async def member_added(self, room: Room, user_id: str) -> None:
        """`room:member_added` `{room_id, user_id}` to every socket in the room (the new
        member's, put there by `room_added` before, included)."""
        ...

    async def receipt(self, room_id: str, user_id: str, seq: int) -> None:
        """`receipt` `{room_id, user_id, seq}` to the others in the room: that member has
        read up to `seq`."""
        ...

    async def member_left(self, room: Room, user_id: str) -> None:
        """`room:member_left` `{room_id, user_id}` to every socket in the room, the one who
        left included; then that user's sockets leave the room, on every instance."""
        ...
