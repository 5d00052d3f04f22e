"""Editing and deleting messages (API.md "Edit and delete"): the sender edits a message
within the edit window and deletes their own at any time. A deleted message stays in the
history as a tombstone (`deleted`, no body) so `seq` stays gapless for every client that
catches up with `after`. Both are idempotent: an edit retried with its `client_id` changes
nothing the second time, and deleting a tombstone answers it again; neither emits twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from domain.chat.attachments import as_read
from domain.chat.errors import EditWindowClosed, InvalidInput, MessageGone, NotTheSender
from domain.chat.model import BODY_MAX, CLIENT_ID_MAX, EDIT_WINDOW_S, Message
from domain.errors import NotFound
from ports.chat import MessageRepository, RealtimeBroadcaster, RoomRepository
from ports.clock import Clock
from ports.files import FileRepository


@dataclass(frozen=True, slots=True)
class EditPolicy:
    edit_window_s: int = EDIT_WINDOW_S


class MessageEdits:
    def __init__(
        self,
        *,
        rooms: RoomRepository,
        messages: MessageRepository,
        broadcaster: RealtimeBroadcaster,
        clock: Clock,
        policy: EditPolicy | None = None,
        files: FileRepository | None = None,  # to mark an edited message's deleted files
    ) -> None:
        self._files = files
        self._rooms = rooms
        self._messages = messages
        self._broadcaster = broadcaster
        self._clock = clock
        self._policy = policy or EditPolicy()

    @property
    def policy(self) -> EditPolicy:
        return self._policy

    async def edit(
        self,
        user_id: str,
        room_id: str,
        message_id: str,
        body: str,
        client_id: str | None = None,
    ) -> Message:
        if not 1 <= len(body) <= BODY_MAX or not body.strip():
            raise InvalidInput(f"A message has 1 to {BODY_MAX} characters.")
        if client_id is not None and not 1 <= len(client_id) <= CLIENT_ID_MAX:
            raise InvalidInput(f"A client_id has 1 to {CLIENT_ID_MAX} characters.")
        message = await self._own(user_id, room_id, message_id)
        if message.deleted:
            raise MessageGone()
        if client_id is not None and message.edit_id == client_id:
            return (await as_read(self._files, [message]))[0]  # this edit, retried
        now = self._clock.now()
        if now - message.created_at > timedelta(seconds=self._policy.edit_window_s):
            raise EditWindowClosed()
        edited = await self._messages.edit(room_id, message_id, body, _ms(now), client_id)
        if edited is None:  # deleted meanwhile
            raise MessageGone()
        [edited] = await as_read(self._files, [edited])  # attachments kept, deleted files marked
        await self._broadcaster.message_updated(edited)
        return edited

    async def delete(self, user_id: str, room_id: str, message_id: str) -> Message:
        message = await self._own(user_id, room_id, message_id)
        if message.deleted:
            return replace(message, attachments=())
        tombstone = await self._messages.delete(room_id, message_id)
        if tombstone is None:
            raise NotFound("No such message.")
        tombstone = replace(tombstone, attachments=())  # a tombstone shows no attachment
        await self._broadcaster.message_deleted(tombstone)
        return tombstone

    async def _own(self, user_id: str, room_id: str, message_id: str) -> Message:
        """The message, if `user_id` is in the room (else NotFound, as for a room that does
        not exist) and sent it (else NotTheSender: members see who sent what)."""
        room = await self._rooms.get(room_id)
        if room is None or not room.has_member(user_id):
            raise NotFound("No such room.")
        message = await self._messages.get(room_id, message_id)
        if message is None:
            raise NotFound("No such message.")
        if message.sender_id != user_id:
            raise NotTheSender()
        return message


def _ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
