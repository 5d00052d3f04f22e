"""Chat over HTTP (API.md "Chat over HTTP"): thin handlers over ChatService, the same
methods the Socket.IO namespace calls. A room the caller is not in is 404."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import (
    document_response,
    validate_querystring,
    validate_request,
    validate_response,
)

from domain.auth.principal import Principal
from domain.chat.attachments import AttachmentReader
from domain.chat.edits import MessageEdits
from domain.chat.model import is_email_invitee
from domain.chat.service import ChatService
from domain.errors import NotFound
from entrypoints.http.deps import container
from entrypoints.http.files import signed_meta
from entrypoints.http.guard import authenticated
from entrypoints.http.openapi import no_content
from schemas.chat import (
    EmailInvitationIn,
    MemberIn,
    Message,
    MessageEditIn,
    MessageIn,
    MessagePage,
    MessagesQuery,
    Presence,
    PresenceQuery,
    ReadIn,
    ReadStateOut,
    Receipt,
    ReceiptList,
    Room,
    RoomIn,
    RoomList,
    RoomPage,
    RoomsQuery,
    RoomView,
)
from schemas.common import ErrorResponse
from schemas.files import FileMetaOut

blueprint = Blueprint("chat", __name__, url_prefix="/chat")
presence_blueprint = Blueprint("presence", __name__, url_prefix="/presence")


def _chat() -> ChatService:
    service: ChatService = container().services.chat()
    return service


def _edits() -> MessageEdits:
    edits: MessageEdits = container().services.message_edits()
    return edits


@blueprint.post("/rooms")
@authenticated
@validate_request(RoomIn)
@validate_response(Room, 201)
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
async def create_room(principal: Principal, data: RoomIn) -> tuple[Room, int]:
    """Create a room with the caller in it and `member_ids` invited (`room:invited`; they
    accept or decline); `simulated: true` adds a peer that answers. 404 when an invitee is not
    a user; 409 when the caller is in the most rooms; 429 past the rooms created an hour."""
    room = await _chat().create_room(principal.user_id, data.name, data.member_ids, data.simulated)
    return Room.from_domain(room), 201


@blueprint.get("/rooms")
@authenticated
@validate_querystring(RoomsQuery)
@validate_response(RoomPage, 200)
@document_response(ErrorResponse, 400)
async def list_rooms(principal: Principal, query_args: RoomsQuery) -> RoomPage:
    """The rooms the caller is a member of, oldest first, `limit` (50) a page, each with the
    caller's `last_read_seq` and `unread_count`."""
    chat = _chat()
    rooms, cursor = await chat.rooms_page(principal.user_id, query_args.limit, query_args.cursor)
    reads = await chat.read_states(principal.user_id, rooms)
    items = [
        RoomView(
            **Room.from_domain(r).model_dump(),
            last_read_seq=reads[r.id].last_read_seq,
            unread_count=reads[r.id].unread_count,
        )
        for r in rooms
    ]
    return RoomPage(items=items, next_cursor=cursor)


@blueprint.post("/rooms/<room_id>/read")
@authenticated
@validate_request(ReadIn)
@validate_response(ReadStateOut, 200)
@document_response(ErrorResponse, 404)
async def mark_read(principal: Principal, room_id: str, data: ReadIn) -> ReadStateOut:
    """The caller has read the room up to `seq` (never backwards; at most its last message):
    the caller's read state; the room gets a `receipt`."""
    return ReadStateOut.from_domain(await _chat().mark_read(principal.user_id, room_id, data.seq))


@blueprint.get("/rooms/<room_id>/receipts")
@authenticated
@validate_response(ReceiptList, 200)
@document_response(ErrorResponse, 404)
async def list_receipts(principal: Principal, room_id: str) -> ReceiptList:
    """How far each member has read the room ("seen by"); a member who never read is absent."""
    marks = await _chat().receipts(principal.user_id, room_id)
    return ReceiptList(
        items=[Receipt(room_id=room_id, user_id=u, seq=seq) for u, seq in sorted(marks.items())]
    )


@blueprint.get("/invitations")
@authenticated
@validate_response(RoomList, 200)
async def list_invitations(principal: Principal) -> RoomList:
    """The rooms the caller is invited to: accept or decline each."""
    return RoomList.from_domain(await _chat().invitations(principal.user_id))


@blueprint.post("/rooms/<room_id>/members")
@authenticated
@validate_request(MemberIn)
@validate_response(Room, 200)
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
async def invite_member(principal: Principal, room_id: str, data: MemberIn) -> Room:
    """Invite a user to a room the caller is in: they get `room:invited` and join when they
    accept. Inviting a member or an invitee again changes nothing."""
    return Room.from_domain(await _chat().invite(principal.user_id, room_id, data.user_id))


@blueprint.post("/rooms/<room_id>/email-invitations")
@authenticated
@validate_request(EmailInvitationIn)
@validate_response(Room, 200)
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
async def invite_email(principal: Principal, room_id: str, data: EmailInvitationIn) -> Room:
    """Invite an address to a room the caller is in. The room shows the invitation by a hint
    (`email_invitations`) whether or not an account has the address, so the answer never tells;
    the account that has verified the address sees it in `GET /chat/invitations` (and gets
    `room:invited` if it exists now) and accepts or declines it like any other. FlowHub sends
    no mail for it. Inviting the same address again changes nothing."""
    return Room.from_domain(await _chat().invite_email(principal.user_id, room_id, data.email))


@blueprint.delete("/rooms/<room_id>/email-invitations/<invitation_id>")
@authenticated
@validate_response(Room, 200)
@document_response(ErrorResponse, 403)
@document_response(ErrorResponse, 404)
async def withdraw_email_invitation(principal: Principal, room_id: str, invitation_id: str) -> Room:
    """The room's creator withdraws an email invitation (its `id` in `email_invitations`)."""
    if not is_email_invitee(invitation_id):
        raise NotFound("No such invitation.")
    room = await _chat().remove_member(principal.user_id, room_id, invitation_id)
    return Room.from_domain(room)


@blueprint.delete("/rooms/<room_id>/members/<user_id>")
@authenticated
@validate_response(Room, 200)
@document_response(ErrorResponse, 403)
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
async def remove_member(principal: Principal, room_id: str, user_id: str) -> Room:
    """The room's creator removes a member (`room:member_left`) or withdraws an invitation."""
    room = await _chat().remove_member(principal.user_id, room_id, user_id)
    return Room.from_domain(room)


@blueprint.post("/rooms/<room_id>/accept")
@authenticated
@validate_response(Room, 200)
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
async def accept_invitation(principal: Principal, room_id: str) -> Room:
    """Accept an invitation: the caller is a member (`room:added` to their sockets,
    `room:member_added` to the room)."""
    return Room.from_domain(await _chat().accept(principal.user_id, room_id))


@blueprint.post("/rooms/<room_id>/decline")
@authenticated
@no_content
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
async def decline_invitation(principal: Principal, room_id: str) -> Response:
    """Decline an invitation (204)."""
    await _chat().decline(principal.user_id, room_id)
    return Response(status=204)


@blueprint.post("/rooms/<room_id>/leave")
@authenticated
@no_content
@document_response(ErrorResponse, 404)
async def leave_room(principal: Principal, room_id: str) -> Response:
    """Leave a room (204): the room gets `room:member_left`, the caller's sockets leave it."""
    await _chat().leave(principal.user_id, room_id)
    return Response(status=204)


@blueprint.get("/rooms/<room_id>/messages")
@authenticated
@validate_querystring(MessagesQuery)
@validate_response(MessagePage, 200)
@document_response(ErrorResponse, 404)
async def list_messages(
    principal: Principal, room_id: str, query_args: MessagesQuery
) -> MessagePage:
    """Messages ascending by seq: the latest `limit` (default 50, at most 100), those before
    `before`, or those after `after` (catch-up after a reconnect)."""
    q = query_args
    page = await _chat().messages(principal.user_id, room_id, q.limit, q.before, q.after)
    return MessagePage.from_domain(page)


@blueprint.post("/rooms/<room_id>/messages")
@authenticated
@validate_request(MessageIn)
@validate_response(Message, 201)
@validate_response(Message, 200)
@document_response(ErrorResponse, 404)
async def send_message(principal: Principal, room_id: str, data: MessageIn) -> tuple[Message, int]:
    """Send a message (delivered in realtime too). The same `client_id` again from the same
    sender answers 200 with the first message, and stores nothing. `attachment_ids`: the
    sender's ready files (404 for any other id, whoever owns it; 422 past the most)."""
    sent = await _chat().send(
        principal.user_id, room_id, data.body, data.client_id, data.attachment_ids
    )
    return Message.from_domain(sent.message), 201 if sent.created else 200


@blueprint.patch("/rooms/<room_id>/messages/<message_id>")
@authenticated
@validate_request(MessageEditIn)
@validate_response(Message, 200)
@document_response(ErrorResponse, 403)
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
async def edit_message(
    principal: Principal, room_id: str, message_id: str, data: MessageEditIn
) -> Message:
    """Edit one of the caller's messages (the room gets `message:updated`): 403 for someone
    else's, 409 `edit_window_closed` past the edit window, 409 `conflict` once deleted. The
    same `client_id` again answers the message and changes nothing."""
    edited = await _edits().edit(principal.user_id, room_id, message_id, data.body, data.client_id)
    return Message.from_domain(edited)


@blueprint.delete("/rooms/<room_id>/messages/<message_id>")
@authenticated
@validate_response(Message, 200)
@document_response(ErrorResponse, 403)
@document_response(ErrorResponse, 404)
async def delete_message(principal: Principal, room_id: str, message_id: str) -> Message:
    """Delete one of the caller's messages: 200 with its tombstone (`deleted: true`, empty
    body, same seq); the room gets `message:deleted`. Deleting it again answers the same."""
    return Message.from_domain(await _edits().delete(principal.user_id, room_id, message_id))


@blueprint.get("/rooms/<room_id>/attachments/<file_id>")
@authenticated
@validate_response(FileMetaOut, 200)
@document_response(ErrorResponse, 404)
async def read_attachment(principal: Principal, room_id: str, file_id: str) -> FileMetaOut:
    """A file attached to a message of the room, for its members: its metadata, a
    `download_url` valid 15 minutes and an image's `thumbnails`. 404 for a room the caller is
    not in, a file no (undeleted) message of the room attaches, or a file deleted since."""
    reader: AttachmentReader = container().services.attachments()
    return signed_meta(await reader.read(principal.user_id, room_id, file_id))


@presence_blueprint.get("")
@authenticated
@validate_querystring(PresenceQuery)
@validate_response(Presence, 200)
async def get_presence(principal: Principal, query_args: PresenceQuery) -> Presence:
    """`online` or `offline` for each of `user_ids` who shares a room with the caller (the
    others are left out)."""
    return Presence.model_validate(await _chat().presence(principal.user_id, query_args.wanted()))
