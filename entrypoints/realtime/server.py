"""The Socket.IO server, mounted beside Quart in the one ASGI application.

`ChatNamespace` is the inbound side of API.md "Realtime": python-socketio hands it every event
of the default namespace through `trigger_event`, its documented hook for custom dispatch.
There each event gets a request id in the log context, its payload is validated
(schemas/chat.py), and what escapes the handler becomes an answer: a domain error (a 4xx
outcome) becomes `{"ok": false, "error": {code, message}}` (or a refused connection), anything
else is logged, reported once to the error reporter and answered as `internal_error`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import cached_property
from typing import Any, ClassVar

import socketio
from pydantic import BaseModel, ValidationError

from adapters.socketio.broadcaster import SocketIoBroadcaster, room_of, user_room
from adapters.socketio.cluster import SocketIoCluster
from adapters.socketio.engine import DeadlineEngineServer
from adapters.socketio.fanout import SerialFanoutManager
from adapters.socketio.manager import RoomJoiningRedisManager
from adapters.telemetry import context as log_context
from config.container import Container
from domain.auth.principal import Principal
from domain.chat.edits import MessageEdits
from domain.chat.errors import InvalidInput
from domain.chat.service import ChatService
from domain.errors import DomainError, ServiceUnavailable, Unauthorized
from entrypoints.realtime.runtime import ChatRuntime, SocketLimits, SocketSessions
from entrypoints.realtime.switches import RealtimeSwitches
from ports.errors import ErrorContext
from schemas.chat import (
    DeletePayload,
    EditPayload,
    JoinPayload,
    Message,
    ReadPayload,
    ReadStateOut,
    RenewPayload,
    SendPayload,
    TypingPayload,
)

log = logging.getLogger("flowhub.realtime")

type AckBody = dict[str, Any]

INTERNAL_ERROR = {"code": "internal_error", "message": "Something went wrong on our side."}
UNKNOWN_EVENT = {"code": "unknown_event", "message": "There is no such event."}
TOO_MANY_SOCKETS = "too_many_sockets"
OVER_BUDGET = {
    "code": "too_many_requests",
    "message": "Too many events from this socket; it is being disconnected.",
}
SESSION_OVER = (
    "The access token has expired or its session has ended; connect again with a renewed one."
)
ONE_PAYLOAD = {"code": "validation_error", "message": "An event carries one payload object."}
LIFECYCLE = frozenset({"connect", "disconnect"})
BINARY_PACKETS = frozenset({"5", "6"})  # BINARY_EVENT, BINARY_ACK
OK: AckBody = {"ok": True}


class ChatNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """The default namespace: a socket opens with an access token, then sends `EVENTS`."""

    # event -> method: Socket.IO names (`message:send`) are not Python identifiers
    EVENTS: ClassVar[dict[str, str]] = {
        "message:send": "on_message_send",
        "message:edit": "on_message_edit",
        "message:delete": "on_message_delete",
        "typing": "on_typing",
        "room:join": "on_room_join",
        "auth:renew": "on_auth_renew",
        "room:read": "on_room_read",
    }

    def __init__(self, container: Container) -> None:
        super().__init__("/")
        self._container = container

    @cached_property
    def runtime(self) -> ChatRuntime:
        """Built at first use, so building the server builds no adapter (cold start)."""
        adapters = self._container.adapters
        return ChatRuntime(self._chat, adapters.clock(), adapters.tasks())

    @cached_property
    def limits(self) -> SocketLimits:
        settings = self._container.settings()
        return SocketLimits(
            settings.sockets_per_user,
            settings.sockets_per_ip,
            settings.socket_events_per_10s,
            self._container.adapters.clock(),
        )

    @cached_property
    def sockets(self) -> SocketSessions:
        """Built at the first socket, when it starts hearing of revoked sessions: none of
        those before it had a socket here."""
        sockets = SocketSessions(self._container.adapters.clock(), self._token_expired)
        self._container.services.revoked_sessions().on_ended(self._sessions_ended)
        return sockets

    @property
    def _chat(self) -> ChatService:
        service: ChatService = self._container.services.chat()
        return service

    # the hook ------------------------------------------------------------------------

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in LIFECYCLE:
            handler = getattr(self, f"on_{event}")
        else:
            refused = self._refusal(event, args)
            if refused is not None:
                return refused
            handler = getattr(self, self.EVENTS[event])
        request_id = uuid.uuid4().hex
        token = log_context.bind(request_id=request_id)
        try:
            return await handler(*args)
        except asyncio.CancelledError:  # as python-socketio's own dispatch: no answer
            return None
        except socketio.exceptions.ConnectionRefusedError:
            raise
        except DomainError as error:
            if isinstance(error, ServiceUnavailable):  # a dependency is down: an error
                await self._log_and_report(event, args[0], request_id, error)
            if event == "connect":
                raise socketio.exceptions.ConnectionRefusedError(error.code) from None
            return {"ok": False, "error": {"code": error.code, "message": error.message}}
        except Exception as error:
            await self._log_and_report(event, args[0], request_id, error)
            if event == "connect":
                raise socketio.exceptions.ConnectionRefusedError("internal_error") from None
            return {"ok": False, "error": INTERNAL_ERROR}
        finally:
            log_context.unbind(token)

    def _refusal(self, event: str, args: tuple[Any, ...]) -> AckBody | None:
        """The ack of an event not dispatched; None for one that is."""
        sid = args[0]
        if not self.limits.spend(sid):
            # over its budget: this event refused, the socket disconnected (once) after the ack
            if self.limits.closing(sid):
                log.warning("socket over its event budget; disconnecting it")
                self._container.adapters.events().warn("rate_limited", route="socket:events")
                self._container.adapters.tasks().spawn(
                    self._disconnect_later(sid), "socket-over-budget"
                )
            return {"ok": False, "error": OVER_BUDGET}
        if (
            event not in self.EVENTS
        ):  # answered, so a client waiting for its ack is not left hanging
            return {"ok": False, "error": UNKNOWN_EVENT}
        if len(args) > 2:  # `emit(event, a, b)`: not a bug of ours
            return {"ok": False, "error": ONE_PAYLOAD}
        return None

    # lifecycle -----------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        principal = await self._authenticate(auth)
        if not self.limits.admit(sid, principal.user_id, _client_ip(environ)):
            log.warning("socket refused: its user or address holds the most sockets here")
            self._container.adapters.events().warn(
                "rate_limited", route="socket:connect", user_id=principal.user_id
            )
            raise socketio.exceptions.ConnectionRefusedError(TOO_MANY_SOCKETS)
        try:
            await self._open(sid, principal)
        except BaseException:
            # refused or failed midway: python-socketio runs no disconnect handler for it
            self.limits.release(sid)
            self.sockets.forget(sid)
            raise

    async def _open(self, sid: str, principal: Principal) -> None:
        await self.save_session(sid, {"principal": principal})
        self.sockets.track(sid, principal)
        await self.enter_room(sid, user_room(principal.user_id))
        for room in await self.runtime.connected(principal.user_id):
            await self.enter_room(sid, room_of(room.id))
        if _gone(self.server, sid):
            # The client gave up (its connect timeout, the store slow) while this ran: its
            # disconnect was skipped, as python-socketio does for a socket still connecting,
            # and nothing would ever disconnect it (its sid kept in the rooms, its user
            # online here for the life of the process). Refused, python-socketio removes it.
            await self.runtime.disconnected(principal.user_id)
            raise socketio.exceptions.ConnectionRefusedError("gone")

    async def _authenticate(self, auth: object) -> Principal:
        """Only a valid access token in `auth.token` opens a socket."""
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        try:
            principal: Principal = await self._container.services.authenticator().authenticate(
                token
            )
        except Unauthorized:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized") from None
        return principal

    async def on_disconnect(self, sid: str, *_: object) -> None:
        self.limits.release(sid)
        self.sockets.forget(sid)
        principal = await self._principal(sid)
        if principal is not None:
            await self.runtime.disconnected(principal.user_id)

    # events --------------------------------------------------------------------------

    async def on_message_send(self, sid: str, data: object = None) -> AckBody:
        """`{room_id, body, client_id?, attachment_ids?}` -> `{"ok": true, "message": Message}`."""
        payload = _payload(SendPayload, data)
        principal = await self._require_principal(sid)
        sent = await self._chat.send(
            principal.user_id,
            payload.room_id,
            payload.body,
            payload.client_id,
            payload.attachment_ids,
        )
        await self.runtime.sent(principal.user_id, payload.room_id)
        return {"ok": True, "message": Message.from_domain(sent.message).model_dump(mode="json")}

    async def on_message_edit(self, sid: str, data: object = None) -> AckBody:
        """`{room_id, message_id, body, client_id?}` -> `{"ok": true, "message": Message}`."""
        payload = _payload(EditPayload, data)
        principal = await self._require_principal(sid)
        edits: MessageEdits = self._container.services.message_edits()
        edited = await edits.edit(
            principal.user_id, payload.room_id, payload.message_id, payload.body, payload.client_id
        )
        return {"ok": True, "message": Message.from_domain(edited).model_dump(mode="json")}

    async def on_message_delete(self, sid: str, data: object = None) -> AckBody:
        """`{room_id, message_id}` -> `{"ok": true, "message": tombstone}`."""
        payload = _payload(DeletePayload, data)
        principal = await self._require_principal(sid)
        edits: MessageEdits = self._container.services.message_edits()
        gone = await edits.delete(principal.user_id, payload.room_id, payload.message_id)
        return {"ok": True, "message": Message.from_domain(gone).model_dump(mode="json")}

    async def on_typing(self, sid: str, data: object = None) -> AckBody:
        """`{room_id, is_typing}` -> `{"ok": true}`; the others in the room get `typing`."""
        payload = _payload(TypingPayload, data)
        principal = await self._require_principal(sid)
        await self.runtime.typing(principal.user_id, payload.room_id, payload.is_typing)
        return OK

    async def on_room_join(self, sid: str, data: object = None) -> AckBody:
        """`{room_id}` -> `{"ok": true}`, for a room the user is a member of."""
        payload = _payload(JoinPayload, data)
        principal = await self._require_principal(sid)
        room = await self._chat.room(principal.user_id, payload.room_id)
        await self.enter_room(sid, room_of(room.id))
        return OK

    async def on_room_read(self, sid: str, data: object = None) -> AckBody:
        """`{room_id, seq}` -> `{"ok": true, "read": ReadState}`, as `POST .../read`."""
        payload = _payload(ReadPayload, data)
        principal = await self._require_principal(sid)
        read = await self._chat.mark_read(principal.user_id, payload.room_id, payload.seq)
        return {"ok": True, "read": ReadStateOut.from_domain(read).model_dump()}

    async def on_auth_renew(self, sid: str, data: object = None) -> AckBody:
        """`{token}` -> `{"ok": true}`: the socket goes on with a renewed access token of the
        same user (no reconnect, so no presence flicker and no rooms to rejoin)."""
        payload = _payload(RenewPayload, data)
        current = await self._require_principal(sid)
        renewed = await self._container.services.authenticator().authenticate(payload.token)
        if renewed.user_id != current.user_id:
            raise Unauthorized("The token is another user's.")
        await self.save_session(sid, {"principal": renewed})
        self.sockets.track(sid, renewed)
        return OK

    # the end of a session ------------------------------------------------------------

    def _token_expired(self, sid: str) -> None:
        self._container.adapters.tasks().spawn(self._end(sid, "expired"), "socket-token-expired")

    async def _sessions_ended(self, session_ids: Sequence[str]) -> None:
        """Sessions revoked (here or on another instance): their sockets here are closed."""
        for sid in self.sockets.of_sessions(session_ids):
            await self._end(sid, "revoked")

    async def _end(self, sid: str, reason: str) -> None:
        """Tell the socket why (`session:ended`), then disconnect it, once. Local only
        (`ignore_queue`): the socket is this instance's, and a publish is a billed command."""
        if not self.sockets.forget(sid):
            return
        await self.server.emit(
            "session:ended", {"reason": reason}, to=sid, namespace="/", ignore_queue=True
        )
        await self.server.disconnect(sid, namespace="/", ignore_queue=True)

    # support -------------------------------------------------------------------------

    async def _disconnect_later(self, sid: str) -> None:
        """After the refused event's ack has gone out (it is sent when trigger_event returns)."""
        await asyncio.sleep(0.05)
        await self.server.disconnect(sid, namespace="/", ignore_queue=True)

    async def _principal(self, sid: str) -> Principal | None:
        """The caller the socket opened as (saved at connect); None before that or once gone."""
        try:
            session = await self.get_session(sid)
        except Exception:  # no session yet (connect), or the socket is gone
            return None
        principal = session.get("principal") if isinstance(session, dict) else None
        return principal if isinstance(principal, Principal) else None

    async def _require_principal(self, sid: str) -> Principal:
        """The socket's caller; an expired token or a revoked session is refused, and the
        socket ended once the refusal's ack has gone out."""
        principal = await self._principal(sid)
        if principal is None:
            raise Unauthorized()
        if not self._container.services.authenticator().still_valid(principal):
            reason = "expired" if principal.expires_at <= self._now() else "revoked"
            self._container.adapters.tasks().spawn(self._end_later(sid, reason), "socket-ended")
            raise Unauthorized(SESSION_OVER)
        return principal

    async def _end_later(self, sid: str, reason: str) -> None:
        await asyncio.sleep(0.05)  # after the refused event's ack
        await self._end(sid, reason)

    def _now(self) -> datetime:
        now: datetime = self._container.adapters.clock().now()
        return now

    async def _log_and_report(
        self, event: str, sid: str, request_id: str, error: Exception
    ) -> None:
        principal = await self._principal(sid)
        user_id = principal.user_id if principal is not None else None
        log.error(
            "unhandled exception in Socket.IO handler %s",
            event,
            exc_info=error,
            extra={"route": event, "user_id": user_id},
        )
        try:
            self._container.adapters.errors().report(
                error, ErrorContext("socketio", route=event, request_id=request_id, user_id=user_id)
            )
        except Exception:
            log.warning("could not report an unhandled exception", exc_info=True)


def _payload[P: BaseModel](model: type[P], data: object) -> P:
    """The event's payload as `model`; the ack names the first field that is wrong."""
    if not isinstance(data, dict):
        raise InvalidInput("The event's payload must be an object.")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        name = error.errors()[0]["loc"][0]
        raise InvalidInput(f"`{name}` is missing or has the wrong type.") from None


class FlowHubSocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server, with a guard on what a client may send, where python-socketio
    has no public hook: before a packet is decoded, and before an event is dispatched
    (tests/unit/test_socketio_overrides.py fails when either method changes upstream).

    An EVENT packet must be `[name, ...]` with a string `name` that is not a lifecycle event.
    python-socketio itself raises on `[]` or a non-string name (an ERROR log line per hostile
    packet) and runs the `connect`/`disconnect` handlers for a client that merely emits an
    event so named (a spoofed `disconnect` would mark its user offline; `trigger_event` cannot
    tell it from the real one). Such a client is not speaking Socket.IO: its socket is
    disconnected and the packet is not dispatched. So is one whose packet does not even decode
    (broken JSON), which python-socketio would log as an error and ignore, and one that sends
    binary: the contract is JSON, and python-socketio keeps every attachment a binary packet
    announces until the last one arrives.

    Its engine.io server is `DeadlineEngineServer` (adapters/socketio/engine.py: writers without
    a timer per packet), chosen through `_engineio_server_class`, the method python-socketio
    itself picks its engine.io server class with.
    """

    deadline_writer = True  # False: upstream's engine.io server (the bench's A/B switch)

    def _engineio_server_class(self) -> type[Any]:
        return DeadlineEngineServer if self.deadline_writer else super()._engineio_server_class()

    async def _handle_eio_message(self, eio_sid: str, data: object) -> None:
        if not isinstance(data, str) or data[:1] in BINARY_PACKETS:
            log.warning("binary Socket.IO packet; disconnecting the socket")
            await self._drop(eio_sid, "/")
            return
        try:
            await super()._handle_eio_message(eio_sid, data)
        except (ValueError, TypeError, IndexError, KeyError, AttributeError, RecursionError):
            # handlers run as tasks of their own: what is caught here is the packet's decoding
            log.warning("undecodable Socket.IO packet; disconnecting the socket", exc_info=True)
            await self._drop(eio_sid, "/")

    async def _handle_event(
        self, eio_sid: str, namespace: str | None, id: int | None, data: object
    ) -> None:
        valid = isinstance(data, list) and data and isinstance(data[0], str)
        if valid and data[0] not in LIFECYCLE:  # type: ignore[index]
            await super()._handle_event(eio_sid, namespace, id, data)
            return
        log.warning("malformed Socket.IO event packet; disconnecting the socket")
        await self._drop(eio_sid, namespace or "/")

    async def _drop(self, eio_sid: str, namespace: str) -> None:
        """Leave the namespace (the disconnect handler runs), then close the connection."""
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is not None and self.manager.is_connected(sid, namespace):
            await self.disconnect(sid, namespace=namespace)
        await self.eio.disconnect(eio_sid)


def create_realtime_server(container: Container) -> socketio.AsyncServer:
    settings = container.settings()
    origins = settings.origins
    switches = RealtimeSwitches.from_environ()
    manager = _manager(settings.redis_url, switches)
    server_class = FlowHubSocketServer if switches.writer else _UpstreamWriterServer
    if isinstance(manager, RoomJoiningRedisManager):
        manager.meter = container.clients.redis_meter()
    sio = server_class(
        client_manager=manager,
        async_mode="asgi",
        # the HTTP API's policy, patterns included (python-socketio takes a callable)
        cors_allowed_origins="*" if origins.anything else origins.allows,
        cors_credentials=False,  # bearer tokens, no cookies
        transports=["websocket", "polling"],
        ping_interval=20,
        ping_timeout=20,
        max_http_buffer_size=64 * 1024,
        # Their errors as JSON lines like every other log line: given `False`, python-socketio
        # and python-engineio add a plain-text stderr handler of their own
        logger=_library_logger("socketio.server"),
        engineio_logger=_library_logger("engineio.server"),
    )
    sio.register_namespace(ChatNamespace(container))
    broadcaster = container.adapters.broadcaster()
    if isinstance(broadcaster, SocketIoBroadcaster):
        broadcaster.attach(sio)
    cluster = container.adapters.cluster()
    if isinstance(manager, RoomJoiningRedisManager) and isinstance(cluster, SocketIoCluster):

        async def users_gone(user_ids: Sequence[str]) -> None:
            await container.services.chat().users_gone(user_ids)

        async def users_back(user_ids: Sequence[str]) -> None:
            await container.services.chat().users_back(user_ids)

        manager.cluster = cluster
        cluster.attach(manager, users_gone, users_back)
    return sio


def chat_namespace(sio: socketio.AsyncServer) -> ChatNamespace:
    namespace: ChatNamespace = sio.namespace_handlers["/"]
    return namespace


async def start_realtime(sio: socketio.AsyncServer) -> None:
    """Subscribe to the other instances at start, not at the first socket (python-socketio's
    own moment): an instance serving only HTTP still emits to sockets on the others, and
    must be known to them (its hello) to be heard."""
    if isinstance(sio.manager, RoomJoiningRedisManager) and not sio.manager_initialized:
        sio.manager_initialized = True
        sio.manager.initialize()


async def stop_realtime(sio: socketio.AsyncServer) -> None:
    """A graceful stop: the other instances drop this one (and its users) at once."""
    cluster = sio.manager.cluster if isinstance(sio.manager, RoomJoiningRedisManager) else None
    if cluster is not None:
        await cluster.stop()


def _library_logger(name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.setLevel(logging.ERROR)
    return logger


KEEPALIVE = {socket.TCP_KEEPIDLE: 60, socket.TCP_KEEPINTVL: 10, socket.TCP_KEEPCNT: 3}


class _UpstreamWriterServer(FlowHubSocketServer):
    deadline_writer = False


def _manager(redis_url: str | None, switches: RealtimeSwitches) -> socketio.AsyncManager:
    """With Redis, an emit on one instance reaches the sockets of every instance."""
    if not redis_url:
        local = SerialFanoutManager()
        local.serial_fanout = switches.fanout
        return local
    from redis.maint_notifications import MaintNotificationsConfig

    manager = RoomJoiningRedisManager(
        redis_url,
        channel="flowhub-socketio",
        redis_options={
            "socket_connect_timeout": 2,
            # TCP keepalive, not redis-py's health check: the check is a billed PING before a
            # publish after 10 s of quiet and on the subscription at each message after one,
            # and it cannot see a dead subscription anyway (the listener blocks in a read);
            # keepalive probes find it (~90 s) at no command.
            "socket_keepalive": True,
            # no billed CLIENT SETINFO, CLIENT MAINT_NOTIFICATIONS per connection (adapters/redis)
            "driver_info": None,
            "maint_notifications_config": MaintNotificationsConfig(enabled=False),
            "socket_keepalive_options": KEEPALIVE,
        },
    )
    manager.serial_fanout = switches.fanout
    manager.skip_own = switches.skip_own
    return manager


def _client_ip(environ: dict[str, Any]) -> str:
    """The address entrypoints/client_address.py put in the ASGI scope (the trusted proxy's
    word, else the TCP peer): python-engineio's own `REMOTE_ADDR` is always 127.0.0.1."""
    scope = environ.get("asgi.scope")
    client = scope.get("client") if isinstance(scope, dict) else None
    return str(client[0]) if client else "unknown"


def _gone(sio: socketio.AsyncServer, sid: str) -> bool:
    """The socket's connection closed (python-socketio drops its environ then)."""
    return sio.manager.eio_sid_from_sid(sid, "/") not in sio.environ
