"""The Socket.IO server, mounted beside Quart in the one ASGI application.

Every handler is registered through `on()`, which gives each event a request id in the log
context and turns what escapes the handler into an answer: a domain error (a 4xx outcome)
becomes `{"ok": false, "error": {code, message}}` (or a refused connection), anything else is
logged, reported once to the error reporter and answered as `internal_error`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

import socketio

from adapters.socketio.broadcaster import SocketIoBroadcaster, room_of, user_room
from adapters.socketio.manager import RoomJoiningRedisManager
from adapters.socketio.payloads import message_json
from adapters.telemetry import context as log_context
from config.container import Container
from domain.chat.errors import InvalidInput
from domain.chat.service import ChatService
from domain.errors import DomainError, ServiceUnavailable, Unauthorized
from ports.errors import ErrorContext

log = logging.getLogger("flowhub.realtime")

type Handler = Callable[..., Awaitable[Any]]

INTERNAL_ERROR = {"code": "internal_error", "message": "Something went wrong on our side."}
UNKNOWN_EVENT = {"code": "unknown_event", "message": "There is no such event."}
ONE_PAYLOAD = {"code": "validation_error", "message": "An event carries one payload object."}
LIFECYCLE = frozenset({"connect", "disconnect"})
BINARY_PACKETS = frozenset({"5", "6"})  # BINARY_EVENT, BINARY_ACK


class FlowHubSocketServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server, with a guard on what a client may send as an event.

    An EVENT packet must be `[name, ...]` with a string `name` that is not a lifecycle event.
    python-socketio itself raises on `[]` or a non-string name (an ERROR log line per hostile
    packet) and runs the `connect`/`disconnect` handlers for a client that merely emits an
    event so named (a spoofed `disconnect` would mark its user offline). Such a client is not
    speaking Socket.IO: its socket is disconnected and the packet is not dispatched. So is one
    whose packet does not even decode (broken JSON), which python-socketio would log as an
    error and ignore, and one that sends binary: the contract is JSON, and python-socketio keeps
    every attachment a binary packet announces until the last one arrives (measured: one socket
    announcing a million attachments held 170 MiB after 3,000 frames of 60 KB).
    """

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
    origins: str | list[str] = "*" if "*" in settings.cors_origins else list(settings.cors_origins)
    sio = FlowHubSocketServer(
        client_manager=_manager(settings.redis_url),
        async_mode="asgi",
        cors_allowed_origins=origins,
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
    on = handlers(sio, container)

    @on("connect")
    async def connect(sid: str, environ: dict[str, Any], auth: object) -> None:
        """Only a valid access token in `auth.token` opens a socket."""
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        adapters = container.adapters
        try:
            claims = adapters.tokens().verify(token, adapters.clock().now())
        except Unauthorized:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized") from None
        await sio.save_session(sid, {"user_id": claims.user_id, "session_id": claims.session_id})
        await sio.enter_room(sid, user_room(claims.user_id))
        for room in await chat().connected(claims.user_id):
            await sio.enter_room(sid, room_of(room.id))
        if _gone(sio, sid):
            # The client gave up (its connect timeout, the store slow) while this ran: its
            # disconnect was skipped, as python-socketio does for a socket still connecting,
            # and nothing would ever disconnect it (its sid kept in the rooms, its user
            # online here for the life of the process). Refused, python-socketio removes it.
            await chat().disconnected(claims.user_id)
            raise socketio.exceptions.ConnectionRefusedError("gone")

    @on("disconnect")
    async def disconnect(sid: str, *_: object) -> None:
        user_id = await _user_id(sio, sid)
        if user_id is not None:
            await chat().disconnected(user_id)

    @on("message:send")
    async def send(sid: str, data: object = None) -> dict[str, Any]:
        """`{room_id, body, client_id?}` -> `{"ok": true, "message": Message}`."""
        fields = _fields(data, room_id=str, body=str, client_id=(str, type(None)))
        sent = await chat().send(
            await _require_user(sio, sid), fields["room_id"], fields["body"], fields["client_id"]
        )
        return {"ok": True, "message": message_json(sent.message)}

    @on("typing")
    async def typing(sid: str, data: object = None) -> dict[str, Any]:
        """`{room_id, is_typing}` -> `{"ok": true}`; the others in the room get `typing`."""
        fields = _fields(data, room_id=str, is_typing=bool)
        await chat().typing(await _require_user(sio, sid), fields["room_id"], fields["is_typing"])
        return {"ok": True}

    @on("room:join")
    async def join(sid: str, data: object = None) -> dict[str, Any]:
        """`{room_id}` -> `{"ok": true}`, for a room the user is a member of."""
        fields = _fields(data, room_id=str)
        room = await chat().room(await _require_user(sio, sid), fields["room_id"])
        await sio.enter_room(sid, room_of(room.id))
        return {"ok": True}

    async def unknown(event: str, sid: str, *_: object) -> dict[str, Any]:
        """Any other event is answered, so a client waiting for its ack is not left hanging."""
        return {"ok": False, "error": UNKNOWN_EVENT}

    sio.on("*", unknown)

    def chat() -> ChatService:
        service: ChatService = container.services.chat()
        return service

    broadcaster = container.adapters.broadcaster()
    if isinstance(broadcaster, SocketIoBroadcaster):
        broadcaster.attach(sio)
    return sio


def _library_logger(name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.setLevel(logging.ERROR)
    return logger


def _manager(redis_url: str | None) -> socketio.AsyncManager | None:
    """With Redis, an emit on one instance reaches the sockets of every instance."""
    if not redis_url:
        return None
    return RoomJoiningRedisManager(
        redis_url,
        channel="flowhub-socketio",
        redis_options={"socket_connect_timeout": 2, "health_check_interval": 10},
    )


def _fields(data: object, **types: type | tuple[type, ...]) -> dict[str, Any]:
    """The event's payload: a JSON object with these fields (optional where None is allowed)."""
    if not isinstance(data, dict):
        raise InvalidInput("The event's payload must be an object.")
    found: dict[str, Any] = {}
    for name, kinds in types.items():
        value = data.get(name)
        if not isinstance(value, kinds):
            raise InvalidInput(f"`{name}` is missing or has the wrong type.")
        found[name] = value
    return found


async def _require_user(sio: socketio.AsyncServer, sid: str) -> str:
    user_id = await _user_id(sio, sid)
    if user_id is None:
        raise Unauthorized()
    return user_id


async def renew_presence_forever(container: Container) -> None:
    """Renew every user connected to this instance, in one store call per interval."""
    chat: ChatService = container.services.chat()
    every = chat.policy.presence_renew_s
    while True:
        await asyncio.sleep(every)
        try:
            await chat.renew_presence()
        except ServiceUnavailable:
            log.warning("could not renew presence; retrying next interval")
        except Exception:
            log.exception("presence renewal failed")


async def stop_task(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def handlers(
    sio: socketio.AsyncServer, container: Container
) -> Callable[[str], Callable[[Handler], Handler]]:
    """`@on(event)`: register a handler on `sio` with errors handled and reported."""

    def on(event: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            wrapped = guarded(sio, container, event, handler)
            sio.on(event, wrapped)
            return wrapped

        return register

    return on


def guarded(
    sio: socketio.AsyncServer, container: Container, event: str, handler: Handler
) -> Handler:
    @wraps(handler)
    async def run(sid: str, *args: Any) -> Any:
        if event not in LIFECYCLE and len(args) > 1:  # `emit(event, a, b)`: not a bug of ours
            return {"ok": False, "error": ONE_PAYLOAD}
        request_id = uuid.uuid4().hex
        token = log_context.bind(request_id=request_id)
        try:
            return await handler(sid, *args)
        except socketio.exceptions.ConnectionRefusedError:
            raise
        except DomainError as error:
            if isinstance(error, ServiceUnavailable):  # a dependency is down: an error
                await _log_and_report(
                    sio, container, event, sid=sid, request_id=request_id, error=error
                )
            if event == "connect":
                raise socketio.exceptions.ConnectionRefusedError(error.code) from None
            return {"ok": False, "error": {"code": error.code, "message": error.message}}
        except Exception as error:
            await _log_and_report(
                sio, container, event, sid=sid, request_id=request_id, error=error
            )
            if event == "connect":
                raise socketio.exceptions.ConnectionRefusedError("internal_error") from None
            return {"ok": False, "error": INTERNAL_ERROR}
        finally:
            log_context.unbind(token)

    return run


async def _log_and_report(
    sio: socketio.AsyncServer,
    container: Container,
    event: str,
    *,
    sid: str,
    request_id: str,
    error: Exception,
) -> None:
    user_id = await _user_id(sio, sid)
    log.error(
        "unhandled exception in Socket.IO handler %s",
        event,
        exc_info=error,
        extra={"route": event, "user_id": user_id},
    )
    try:
        container.adapters.errors().report(
            error, ErrorContext("socketio", route=event, request_id=request_id, user_id=user_id)
        )
    except Exception:
        log.warning("could not report an unhandled exception", exc_info=True)


def _gone(sio: socketio.AsyncServer, sid: str) -> bool:
    """The socket's connection closed (python-socketio drops its environ then)."""
    return sio.manager.eio_sid_from_sid(sid, "/") not in sio.environ


async def _user_id(sio: socketio.AsyncServer, sid: str) -> str | None:
    try:
        session = await sio.get_session(sid)
    except Exception:  # no session yet (connect), or the socket is gone
        return None
    user_id = session.get("user_id") if isinstance(session, dict) else None
    return user_id if isinstance(user_id, str) else None
