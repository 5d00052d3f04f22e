"""Chat's wire shapes, over HTTP and Socket.IO alike: what clients send (validated here, the
domain's limits imported, never restated) and what they receive (built from domain objects,
serialized here and nowhere else)."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    StrictBool,
)

from domain.chat import model as chat
from schemas.common import (
    NOT_BLANK,
    EmailAddress,
    In,
    Moment,
    Token,
    json_integer,
    omitted_when_none,
)

Id = Annotated[str, Field(min_length=1, max_length=chat.ID_MAX)]
Seq = Annotated[int, Field(ge=1, le=chat.SEQ_MAX)]


# HTTP requests ---------------------------------------------------------------------------


class RoomIn(In):
    name: Annotated[
        str, Field(min_length=1, max_length=chat.ROOM_NAME_MAX, json_schema_extra=NOT_BLANK)
    ]
    member_ids: Annotated[list[Id], Field(max_length=chat.MEMBERS_MAX)] = Field(
        default_factory=list
    )
    simulated: StrictBool = False


class MemberIn(In):
    user_id: Id


class EmailInvitationIn(In):
    email: EmailAddress


AttachmentIds = Annotated[
    list[Id],
    Field(
        max_length=chat.ATTACHMENTS_MAX,
        description=(
            f"at most {chat.ATTACHMENTS_MAX} ids of the sender's ready files (a file named twice"
            " is attached once); room members can then read them"
        ),
    ),
]


class MessageIn(In):
    body: Annotated[str, Field(min_length=1, max_length=chat.BODY_MAX, json_schema_extra=NOT_BLANK)]
    client_id: Annotated[str, Field(min_length=1, max_length=chat.CLIENT_ID_MAX)] | None = None
    attachment_ids: AttachmentIds = Field(default_factory=list)


class MessageEditIn(In):
    body: Annotated[str, Field(min_length=1, max_length=chat.BODY_MAX, json_schema_extra=NOT_BLANK)]
    client_id: Annotated[str, Field(min_length=1, max_length=chat.CLIENT_ID_MAX)] | None = Field(
        default=None, description="this edit's own id: the same again changes nothing"
    )


class MessagesQuery(BaseModel):
    before: Seq | None = None
    after: Annotated[int, Field(ge=0, le=chat.SEQ_MAX)] | None = None
    limit: Annotated[int, Field(ge=1, le=chat.PAGE_MAX)] | None = None


class RoomsQuery(BaseModel):
    limit: Annotated[int, Field(ge=1, le=chat.PAGE_MAX)] | None = None
    cursor: Annotated[str, Field(min_length=1, max_length=chat.ID_MAX)] | None = None


class PresenceQuery(BaseModel):
    user_ids: Annotated[
        str,
        Field(
            max_length=chat.PRESENCE_ASKED_MAX * 25,
            description="comma-separated user ids",
        ),
    ] = ""

    def wanted(self) -> list[str]:
        ids = (part.strip() for part in self.user_ids.split(","))
        return [u for u in ids if u][: chat.PRESENCE_ASKED_MAX]


# Socket.IO event payloads: JSON types checked here (the first wrong field named in the ack),
# lengths and blanks by the domain, with the same messages as over HTTP.


class Payload(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class SendPayload(Payload):
    """`message:send`"""

    room_id: str
    body: str
    client_id: str | None = None
    attachment_ids: list[str] = Field(
        default_factory=list,
        max_length=chat.ATTACHMENTS_MAX,
        description=f"at most {chat.ATTACHMENTS_MAX} ids of the sender's ready files",
    )


class TypingPayload(Payload):
    """`typing` (from a client)"""

    room_id: str
    is_typing: bool


class EditPayload(Payload):
    """`message:edit`"""

    room_id: str
    message_id: str
    body: str
    client_id: str | None = None


class DeletePayload(Payload):
    """`message:delete`"""

    room_id: str
    message_id: str


class JoinPayload(Payload):
    """`room:join`"""

    room_id: str


class RenewPayload(Payload):
    """`auth:renew`"""

    token: Token = Field(description="a renewed access token of the same user")


class SessionEnded(BaseModel):
    """`session:ended`, to one socket just before the server disconnects it. `expired`: its
    access token's time is up (renew the token and connect again; `auth:renew` before the
    expiry avoids the disconnect). `revoked`: its session was signed out (a logout,
    logout-all or password reset), so renewing fails: sign in again."""

    reason: Literal["expired", "revoked"]


# What clients receive, over HTTP and Socket.IO -------------------------------------------


class EmailInvitation(BaseModel):
    """An invitation waiting for whoever verifies an address: the room never learns whether
    an account has it until that account accepts."""

    id: str = Field(description="`email:` and a keyed hash of the address; withdraw it by this")
    hint: str = Field(description="the address's first character and its domain: `b…@example.com`")


class Room(BaseModel):
    id: str
    name: str
    member_ids: list[str]
    invited_ids: list[str] = Field(description="invited, not yet members (they accept or decline)")
    email_invitations: list[EmailInvitation] = Field(
        description="invitations sent to an address, waiting for its account to answer"
    )
    creator_id: str = Field(description="who may remove members; empty for an older room")
    simulated: bool
    created_at: Moment
    last_seq: int

    @classmethod
    def from_domain(cls, room: chat.Room) -> Self:
        return cls(
            id=room.id,
            name=room.name,
            member_ids=list(room.member_ids),
            invited_ids=list(room.invited_users),
            email_invitations=[
                EmailInvitation(id=chat.email_invitation_id(i), hint=chat.email_hint(i))
                for i in room.invited_emails
            ],
            creator_id=room.creator_id,
            simulated=room.simulated,
            created_at=room.created_at,
            last_seq=room.last_seq,
        )


class RoomList(BaseModel):
    items: list[Room]
    next_cursor: str | None = Field(
        default=None, description="pass as `cursor` for the next page; null on the last"
    )

    @classmethod
    def from_domain(cls, rooms: list[chat.Room], next_cursor: str | None = None) -> Self:
        return cls(items=[Room.from_domain(r) for r in rooms], next_cursor=next_cursor)


class Receipt(BaseModel):
    """`receipt`: a member has read the room up to `seq`."""

    room_id: str
    user_id: str
    seq: int


class ReadStateOut(BaseModel):
    """The caller's read state in a room."""

    room_id: str
    last_read_seq: int = Field(description="the highest seq the caller has read")
    unread_count: int = Field(description="messages after it (the room's last_seq minus it)")

    @classmethod
    def from_domain(cls, read: chat.ReadState) -> Self:
        return cls(
            room_id=read.room_id, last_read_seq=read.last_read_seq, unread_count=read.unread_count
        )


class ReadIn(In):
    seq: Annotated[int, Field(ge=0, le=chat.SEQ_MAX), BeforeValidator(json_integer)]


class ReadPayload(Payload):
    """`room:read`"""

    room_id: str
    seq: int


class ReceiptList(BaseModel):
    items: list[Receipt]


class RoomView(Room):
    """A room as its member lists it: with their read state."""

    last_read_seq: int = Field(description="the highest seq the caller has read")
    unread_count: int = Field(description="messages after it")


class RoomPage(BaseModel):
    items: list[RoomView]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last"
    )


class Membership(BaseModel):
    """`room:member_added` and `room:member_left`: who joined or left (or was removed)."""

    room_id: str
    user_id: str


class Attachment(BaseModel):
    """A file a message references, as it was when it was sent; room members read it at
    `GET /chat/rooms/{room_id}/attachments/{id}` while it exists."""

    id: str = Field(description="the file's id")
    name: str
    content_type: str
    size: int = Field(description="bytes")
    deleted: bool = Field(description="the file was deleted since: it can no longer be read")

    @classmethod
    def from_domain(cls, attachment: chat.Attachment) -> Self:
        return cls(
            id=attachment.id,
            name=attachment.name,
            content_type=attachment.content_type,
            size=attachment.size,
            deleted=attachment.deleted,
        )


class Message(BaseModel):
    id: str
    room_id: str
    sender_id: str
    body: str = Field(description="empty once the message is deleted")
    seq: int = Field(description="per room: 1, 2, 3... with no gap")
    client_id: str | None = omitted_when_none("the sender's, when it gave one")
    created_at: Moment
    edited_at: Moment | None = omitted_when_none("when its sender last edited it")
    deleted: Literal[True] | None = omitted_when_none(
        "a deleted message's tombstone: its seq stays, its body is gone"
    )
    attachments: list[Attachment] | None = omitted_when_none(
        "the files the message references, in the order sent (none on a tombstone)"
    )

    @classmethod
    def from_domain(cls, message: chat.Message) -> Self:
        return cls(
            id=message.id,
            room_id=message.room_id,
            sender_id=message.sender_id,
            body=message.body,
            seq=message.seq,
            client_id=message.client_id,
            created_at=message.created_at,
            edited_at=message.edited_at,
            deleted=True if message.deleted else None,
            attachments=[Attachment.from_domain(a) for a in message.attachments]
            if message.attachments and not message.deleted
            else None,
        )


class MessagePage(BaseModel):
    items: list[Message] = Field(description="ascending by seq")
    next_before: int | None = Field(description="pass as `before` for older messages")

    @classmethod
    def from_domain(cls, page: chat.MessagePage) -> Self:
        return cls(items=[Message.from_domain(m) for m in page.items], next_before=page.next_before)


class Presence(RootModel[dict[str, Literal["online", "offline"]]]):
    pass


class Typing(BaseModel):
    """`typing` (to the others in the room)"""

    room_id: str
    user_id: str
    is_typing: bool


class PresenceChange(BaseModel):
    """`presence`"""

    user_id: str
    status: Literal["online", "offline"]
