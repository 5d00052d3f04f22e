"""The Socket.IO contract as data: every event a client sends (its payload and its ack), every
event the server emits (its payload), the connect auth and the acks' shapes. The AsyncAPI
document (`GET /asyncapi.json`) and the TypeScript client's event types are generated from
this catalog; the payload models are the ones the namespace validates with and the broadcaster
serializes through (schemas/chat.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from schemas.chat import (
    DeletePayload,
    EditPayload,
    JoinPayload,
    Membership,
    Message,
    PresenceChange,
    ReadPayload,
    ReadStateOut,
    Receipt,
    RenewPayload,
    Room,
    SendPayload,
    SessionEnded,
    Typing,
    TypingPayload,
)
from schemas.common import ErrorCode, Token

NAMESPACE = "/"
PATH = "/socket.io"


class ConnectAuth(BaseModel):
    """`io(URL, {auth: {token}})`: a missing, expired or tampered token is refused with
    `connect_error` whose message is `unauthorized`."""

    token: Token = Field(description="the access token (as in `Authorization: Bearer`)")


class AckError(BaseModel):
    code: ErrorCode
    message: str


class ErrorAck(BaseModel):
    """Any client event's ack when it fails: a domain error's code (`not_found`,
    `validation_error`, `too_many_requests`, `service_unavailable`...), `unknown_event` for an
    event the server does not know, `internal_error` for a bug."""

    ok: Literal[False]
    error: AckError


class OkAck(BaseModel):
    ok: Literal[True]


class SendAck(BaseModel):
    ok: Literal[True]
    message: Message


class ReadAck(BaseModel):
    ok: Literal[True]
    read: ReadStateOut


@dataclass(frozen=True, slots=True)
class ClientEvent:
    """An event a client emits (with `emitWithAck`), answered through its ack."""

    name: str
    operation: str
    summary: str
    payload: type[BaseModel]
    ack: type[BaseModel]


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """An event the server emits to a client's sockets."""

    name: str
    operation: str
    summary: str
    payload: type[BaseModel]


CLIENT_EVENTS: tuple[ClientEvent, ...] = (
    ClientEvent(
        "message:send",
        "sendMessage",
        "Send a message to a room the user is in; the same `client_id` again answers the "
        "first message and stores nothing.",
        SendPayload,
        SendAck,
    ),
    ClientEvent(
        "message:edit",
        "editMessage",
        "Edit one of the user's own messages within the edit window (15 min by default); the "
        "same `client_id` again changes nothing. The room gets `message:updated`.",
        EditPayload,
        SendAck,
    ),
    ClientEvent(
        "message:delete",
        "deleteMessage",
        "Delete one of the user's own messages: it stays as a tombstone (`deleted: true`, "
        "no body) so `seq` has no gap. The room gets `message:deleted`; again, nothing more.",
        DeletePayload,
        SendAck,
    ),
    ClientEvent(
        "typing",
        "sendTyping",
        "Say the user is (or stopped) typing; a `true` not renewed within 3 s ends by itself, "
        "and so does it at the user's `message:send` in that room.",
        TypingPayload,
        OkAck,
    ),
    ClientEvent(
        "room:join",
        "joinRoom",
        "Join the Socket.IO room of a chat room the user is a member of (on connect the "
        "socket is already in all of them).",
        JoinPayload,
        OkAck,
    ),
    ClientEvent(
        "room:read",
        "markRead",
        "The user has read the room up to `seq` (never backwards); the room gets a `receipt`.",
        ReadPayload,
        ReadAck,
    ),
    ClientEvent(
        "auth:renew",
        "renewToken",
        "Go on with a renewed access token of the same user, before the current one expires "
        "(at its expiry the socket gets `session:ended` and is disconnected).",
        RenewPayload,
        OkAck,
    ),
)

SERVER_EVENTS: tuple[ServerEvent, ...] = (
    ServerEvent(
        "message:new",
        "onMessageNew",
        "A message in one of the user's rooms (the sender's own included), in `seq` order.",
        Message,
    ),
    ServerEvent(
        "message:updated",
        "onMessageUpdated",
        "A message of the room was edited: the whole message, with its `edited_at`.",
        Message,
    ),
    ServerEvent(
        "message:deleted",
        "onMessageDeleted",
        "A message of the room was deleted: its tombstone (`deleted: true`, empty body).",
        Message,
    ),
    ServerEvent(
        "typing",
        "onTyping",
        "Someone else in the room started or stopped typing.",
        Typing,
    ),
    ServerEvent(
        "presence",
        "onPresence",
        "A user sharing a room came online (first socket) or went offline (last socket); "
        "after joining a room, one for each member online there.",
        PresenceChange,
    ),
    ServerEvent(
        "room:added",
        "onRoomAdded",
        "The user joined a room (they accepted its invitation); their sockets are in it already.",
        Room,
    ),
    ServerEvent(
        "room:invited",
        "onRoomInvited",
        "The user was invited to a room: accept (`POST /chat/rooms/{id}/accept`) or decline.",
        Room,
    ),
    ServerEvent(
        "room:updated",
        "onRoomUpdated",
        "A room of the user changed (an invitation sent, declined or withdrawn): the room.",
        Room,
    ),
    ServerEvent(
        "room:member_added",
        "onRoomMemberAdded",
        "Someone accepted an invitation and is a member of the room now.",
        Membership,
    ),
    ServerEvent(
        "room:member_left",
        "onRoomMemberLeft",
        "A member left the room or was removed by its creator (to the one who left too, "
        "whose sockets then leave the room).",
        Membership,
    ),
    ServerEvent(
        "receipt",
        "onReceipt",
        "A member has read the room up to `seq` (coalesced: at most one every 2 s per member).",
        Receipt,
    ),
    ServerEvent(
        "session:ended",
        "onSessionEnded",
        "This socket's access token expired or its session was revoked; the server "
        "disconnects it right after.",
        SessionEnded,
    ),
)
