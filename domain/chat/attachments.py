"""Attachments (API.md "Chat over HTTP"): a message references up to `ATTACHMENTS_MAX` files
its sender owns, each ready when it is sent; the message keeps what each file was (name, type,
size), so a file deleted later still shows, marked `deleted`. Room members, and only they, can
read a file attached to a live message of their room (its metadata, thumbnails and a download
URL, signed by the files service as for its owner). A tombstone's attachments are gone from
every answer, and it opens no file.

Cost: checking a send's files is one read of the files store; marking a page's deleted files
is one more (for the whole page, never one per message); no Redis command.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from domain.chat.errors import InvalidInput
from domain.chat.model import ATTACHMENTS_MAX, Attachment, Message
from domain.errors import NotFound
from domain.files.model import Download, FileStatus, StoredFile
from domain.files.service import FileService
from ports.chat import MessageRepository, RoomRepository
from ports.files import FileRepository


def unique_ids(file_ids: Sequence[str]) -> list[str]:
    """The ids once each, in the order first named; past `ATTACHMENTS_MAX`: InvalidInput."""
    wanted = list(dict.fromkeys(file_ids))
    if len(wanted) > ATTACHMENTS_MAX:
        raise InvalidInput(f"A message has at most {ATTACHMENTS_MAX} attachments.")
    if any(not isinstance(i, str) or not i for i in wanted):
        raise InvalidInput("An attachment id is a file's id.")
    return wanted


async def attachments_of(
    files: FileRepository | None, sender_id: str, file_ids: Sequence[str]
) -> tuple[Attachment, ...]:
    """What a message of `sender_id` attaches: each of `file_ids` must be a ready file the
    sender owns; the first that is not is NotFound, the same whether it does not exist, is
    someone else's or is still pending (whose it is never shows)."""
    wanted = unique_ids(file_ids)
    if not wanted:
        return ()
    found = {} if files is None else await files.get_many(wanted)
    attached: list[Attachment] = []
    for file_id in wanted:
        file = found.get(file_id)
        if file is None or file.owner_id != sender_id or file.status is not FileStatus.READY:
            raise NotFound(f"No such file: {file_id}.")
        attached.append(_attachment(file))
    return tuple(attached)


async def as_read(files: FileRepository | None, messages: list[Message]) -> list[Message]:
    """The messages as an answer shows them: a tombstone without attachments, an attachment
    whose file is gone (deleted, or being deleted) marked `deleted`. One read of the files
    store for all of them, none when no message has an attachment."""
    live = {a.id for m in messages if not m.deleted for a in m.attachments}
    present: dict[str, StoredFile] = {}
    if live and files is not None:
        present = await files.get_many(sorted(live))

    def shown(message: Message) -> Message:
        if not message.attachments:
            return message
        if message.deleted:
            return replace(message, attachments=())
        marked = tuple(
            replace(a, deleted=not _ready(present.get(a.id))) for a in message.attachments
        )
        return replace(message, attachments=marked)

    return [shown(m) for m in messages]


class AttachmentReader:
    """A room member reads a file attached to a live message of the room."""

    def __init__(
        self, *, rooms: RoomRepository, messages: MessageRepository, files: FileService
    ) -> None:
        self._rooms = rooms
        self._messages = messages
        self._files = files

    async def read(self, user_id: str, room_id: str, file_id: str) -> Download:
        """The file's signed download (and thumbnails). NotFound, all alike, for a room the
        caller is not in, a file no live message of the room attaches, a file gone."""
        room = await self._rooms.get(room_id)
        if room is None or not room.has_member(user_id):
            raise NotFound("No such room.")
        if not await self._messages.has_attachment(room_id, file_id):
            raise NotFound("No such attachment.")
        return await self._files.download_attached(file_id)


def _ready(file: StoredFile | None) -> bool:
    return file is not None and file.status is FileStatus.READY


def _attachment(file: StoredFile) -> Attachment:
    return Attachment(id=file.id, name=file.name, content_type=file.content_type, size=file.size)
