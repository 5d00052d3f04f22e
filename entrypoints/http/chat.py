"""Chat over HTTP (API.md "Chat over HTTP"): thin handlers over ChatService, the same
methods the Socket.IO namespace calls. A room the caller is not in is 404."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify
from quart_schema import document_response, validate_querystring, validate_request

from adapters.socketio.payloads import message_json, room_json
from domain.chat.service import ChatService
from entrypoints.http.deps import container
from entrypoints.http.guard import authenticated, current_user_id
from schemas.chat import (
    MemberIn,
    MessageIn,
    MessageOut,
    MessagePageOut,
    MessagesQuery,
    PresenceOut,
    PresenceQuery,
    RoomIn,
    RoomOut,
    RoomsOut,
)
from schemas.common import ErrorResponse

blueprint = Blueprint("chat", __name__, url_prefix="/chat")
presence_blueprint = Blueprint("presence", __name__, url_prefix="/presence")


def _chat() -> ChatService:
    service: ChatService = container().services.chat()
    return service


def _json(body: object, status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


@blueprint.post("/rooms")
@authenticated
@validate_request(RoomIn)
@document_response(RoomOut, 201)
@document_response(ErrorResponse, 404)
async def create_room(data: RoomIn) -> Response:
    """Create a room with the caller and `member_ids` in it; `simulated: true` adds a peer
    that answers. 404 when a member is not a user."""
    room = await _chat().create_room(current_user_id(), data.name, data.member_ids, data.simulated)
    return _json(room_json(room), 201)


@blueprint.get("/rooms")
@authenticated
@document_response(RoomsOut, 200)
async def list_rooms() -> Response:
    """The rooms the caller is a member of."""
    rooms = await _chat().rooms(current_user_id())
    return jsonify({"items": [room_json(r) for r in rooms]})


@blueprint.post("/rooms/<room_id>/members")
@authenticated
@validate_request(MemberIn)
@document_response(RoomOut, 200)
@document_response(ErrorResponse, 404)
async def add_member(room_id: str, data: MemberIn) -> Response:
    """Add a user to a room the caller is in; their sockets join it and get `room:added`."""
    room = await _chat().add_member(current_user_id(), room_id, data.user_id)
    return jsonify(room_json(room))


@blueprint.get("/rooms/<room_id>/messages")
@authenticated
@validate_querystring(MessagesQuery)
@document_response(MessagePageOut, 200)
@document_response(ErrorResponse, 404)
async def messages(room_id: str, query_args: MessagesQuery) -> Response:
    """Messages ascending by seq: the latest `limit` (default 50, at most 100), those before
    `before`, or those after `after` (catch-up after a reconnect)."""
    q = query_args
    page = await _chat().messages(current_user_id(), room_id, q.limit, q.before, q.after)
    return jsonify(
        {"items": [message_json(m) for m in page.items], "next_before": page.next_before}
    )


@blueprint.post("/rooms/<room_id>/messages")
@authenticated
@validate_request(MessageIn)
@document_response(MessageOut, 201)
@document_response(MessageOut, 200)
@document_response(ErrorResponse, 404)
async def send(room_id: str, data: MessageIn) -> Response:
    """Send a message (delivered in realtime too). The same `client_id` again from the same
    sender answers 200 with the first message, and stores nothing."""
    sent = await _chat().send(current_user_id(), room_id, data.body, data.client_id)
    return _json(message_json(sent.message), 201 if sent.created else 200)


@presence_blueprint.get("")
@authenticated
@validate_querystring(PresenceQuery)
@document_response(PresenceOut, 200)
async def presence(query_args: PresenceQuery) -> Response:
    """`online` or `offline` for each of `user_ids` who shares a room with the caller (the
    others are left out)."""
    wanted = [u for u in (p.strip() for p in query_args.user_ids.split(",")) if u][:200]
    return jsonify(await _chat().presence(current_user_id(), wanted))
