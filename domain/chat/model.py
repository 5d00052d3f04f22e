"""Chat entities: rooms with a per-room message counter, and messages ordered by `seq`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

ROOM_NAME_MAX = 100
BODY_MAX = 4000
CLIENT_ID_MAX = 100
ID_MAX = 200  # a room or user id as a client may send it
MEMBERS_MAX = 100  # the members a room is created with, its creator aside
ROOMS_PER_USER = 200  # the rooms one user may be a member of (and so join at each connect)
INVITATIONS_PENDING_MAX = 50  # the invitations one user may have waiting for an answer
PAGE_DEFAULT = 50
PAGE_MAX = 100
SEQ_MAX = 2**63 - 1  # a seq is stored as a 64-bit integer; a larger one cannot be looked up
PRESENCE_ASKED_MAX = 200  # the users one presence question names
PEER_PREFIX = "peer-"
EMAIL_INVITEE_PREFIX = "email:"
EDIT_WINDOW_S = 15 * 60  # how long after sending its sender may edit a message (by default)
ATTACHMENTS_MAX = 4  # the files one message may reference


class Status(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


def peer_id(room_id: str) -> str:
    """The simulated peer of a simulated room: a member that is not a user."""
    return f"{PEER_PREFIX}{room_id}"


def is_peer(user_id: str) -> bool:
    return user_id.startswith(PEER_PREFIX)


def email_invitee(address_key: str, address: str) -> str:
    """The invitee an email invitation waits under: a keyed hash of the normalized address
    (never the address) and a hint for the room's members (`b…@example.com`). The account that
    verifies that address answers it, so an invitation says nothing of whether one exists."""
    local, _, domain = address.rpartition("@")
    return f"{EMAIL_INVITEE_PREFIX}{address_key}:{local[:1]}\u2026@{domain}"


def is_email_invitee(invitee: str) -> bool:
    return invitee.startswith(EMAIL_INVITEE_PREFIX)


def email_invitation_id(invitee: str) -> str:
    """How clients name an email invitation (to withdraw it): its invitee without the hint."""
    return invitee.rsplit(":", 1)[0]


def email_hint(invitee: str) -> str:
    return invitee.split(":", 2)[2]


@dataclass(frozen=True, slots=True)
class Room:
    """A room and who is in it. Nobody is put in a room: an invited user is in `invited_ids`
    (no history, no events, no presence) until they accept. `creator_id` may remove members."""

    id: str
    name: str
    member_ids: tuple[str, ...]
    simulated: bool
    created_at: datetime
    last_seq: int = 0
    creator_id: str = ""  # "" for a room created before invitations: nobody may remove
    invited_ids: tuple[str, ...] = ()

    def has_member(self, user_id: str) -> bool:
        return user_id in self.member_ids

    def has_invited(self, user_id: str) -> bool:
        return user_id in self.invited_ids

    @property
    def invited_users(self) -> tuple[str, ...]:
        """The invited users, without the invitations waiting for an address."""
        return tuple(i for i in self.invited_ids if not is_email_invitee(i))

    @property
    def invited_emails(self) -> tuple[str, ...]:
        return tuple(i for i in self.invited_ids if is_email_invitee(i))

    def with_member(self, user_id: str) -> Room:
        if self.has_member(user_id):
            return self
        return replace(self, member_ids=(*self.member_ids, user_id))

    @property
    def peer_id(self) -> str | None:
        return peer_id(self.id) if self.simulated else None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file a message references, as it was when the message was sent (its sender's ready
    file): the name, type and size stay readable once the file is deleted. `deleted` is never
    stored: a read computes it from the file's absence."""

    id: str
    name: str
    content_type: str
    size: int
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    room_id: str
    sender_id: str
    body: str
    seq: int
    created_at: datetime
    client_id: str | None = None
    edited_at: datetime | None = None
    deleted: bool = False  # a tombstone: the body is gone, the seq stays (no gap)
    edit_id: str | None = None  # the client_id of the last edit applied (a retry is a no-op)
    attachments: tuple[Attachment, ...] = ()  # kept by edits; a tombstone keeps none

    @property
    def attachment_ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.attachments)


def message_id_for(room_id: str, sender_id: str, client_id: str) -> str:
    """The id of the message a sender sends with `client_id` in a room: derived, so a retry
    maps to the same id and the store's primary key makes it idempotent (no second unique
    index to keep). 128 bits, hex, like a random id; it tells nothing a member does not know."""
    key = "\0".join((room_id, sender_id, client_id)).encode()
    return hashlib.blake2b(key, digest_size=16, person=b"flowhub-message").hexdigest()


@dataclass(frozen=True, slots=True)
class MessagePage:
    items: list[Message]  # ascending by seq
    next_before: int | None  # pass as `before` for the older page; None when there is none


@dataclass(frozen=True, slots=True)
class ReadState:
    """A member's read state in a room."""

    room_id: str
    last_read_seq: int
    unread_count: int


@dataclass(frozen=True, slots=True)
class Sent:
    message: Message
    created: bool  # False: the same client_id was sent before; this is the first message


@dataclass(frozen=True, slots=True)
class RoomsOverview:
    """Every room at a glance (the admin API)."""

    count: int
    busiest: tuple[Room, ...]
    recent: tuple[Room, ...]
