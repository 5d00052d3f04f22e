"""What escapes a Socket.IO handler: reported once when it is a bug, answered in the
acknowledgement's shape either way, never reported when it is a 4xx-like outcome."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import socketio

from adapters.memory.errors import MemoryErrorReporter
from config.container import Container, build_container
from config.settings import load_settings
from domain.errors import NotFound
from entrypoints.realtime.server import chat_namespace, create_realtime_server

pytestmark = pytest.mark.api


def build() -> tuple[socketio.AsyncServer, Container, MemoryErrorReporter]:
    container = build_container(load_settings({"APP_ENV": "test"}))
    sio = create_realtime_server(container)
    sink = container.adapters.error_sink()
    assert isinstance(sink, MemoryErrorReporter)
    return sio, container, sink


async def trigger(sio: socketio.AsyncServer, event: str, *args: Any) -> Any:
    return await sio._trigger_event(event, "/", "sid-1", *args)


async def test_an_exception_in_an_event_handler_is_reported_and_acknowledged() -> None:
    sio, _, sink = build()

    async def send(sid: str, data: object = None) -> dict[str, Any]:
        raise RuntimeError("the room table is gone")

    chat_namespace(sio).on_message_send = send  # type: ignore[method-assign]

    ack = await trigger(sio, "message:send", {"room_id": "r1", "body": "hi"})

    assert ack == {
        "ok": False,
        "error": {"code": "internal_error", "message": "Something went wrong on our side."},
    }
    [report] = sink.reports
    assert report.context.source == "socketio"
    assert report.context.route == "message:send"
    assert report.context.request_id


async def test_a_domain_error_is_an_answer_not_an_error() -> None:
    sio, _, sink = build()

    async def join(sid: str, data: object = None) -> dict[str, Any]:
        raise NotFound("No such room.")

    chat_namespace(sio).on_room_join = join  # type: ignore[method-assign]

    ack = await trigger(sio, "room:join", {"room_id": "nope"})

    assert ack == {"ok": False, "error": {"code": "not_found", "message": "No such room."}}
    assert sink.reports == []


class BrokenCodec:
    def verify(self, token: str, now: object) -> object:
        raise RuntimeError("the signing key could not be read")


async def test_a_bug_in_connect_refuses_the_socket_and_is_reported() -> None:
    from dependency_injector import providers

    sio, container, sink = build()
    container.adapters.tokens.override(providers.Object(BrokenCodec()))

    with pytest.raises(socketio.exceptions.ConnectionRefusedError) as refused:
        await trigger(sio, "connect", {}, {"token": "a-token"})

    assert refused.value.error_args == {"message": "internal_error"}
    [report] = sink.reports
    assert (report.context.source, report.context.route) == ("socketio", "connect")


async def test_a_bad_token_is_refused_and_not_reported() -> None:
    sio, _, sink = build()
    with pytest.raises(socketio.exceptions.ConnectionRefusedError):
        await trigger(sio, "connect", {}, {"token": "not-a-jwt"})
    assert sink.reports == []


class GatedRooms:
    """The rooms store, answering `for_member` only once `gate` is set (a slow MongoDB)."""

    def __init__(self, inner: Any, gate: asyncio.Event) -> None:
        self._inner, self._gate = inner, gate

    async def for_member(self, user_id: str) -> Any:
        await self._gate.wait()
        return await self._inner.for_member(user_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def test_a_socket_gone_while_its_connect_handler_ran_leaves_nothing_behind() -> None:
    """The client gives up (its connect timeout) while `connect` waits for the store: once the
    handler finishes, the socket must not stay in the manager's rooms nor its user online."""
    from dependency_injector import providers

    sio, container, _ = build()
    gate = asyncio.Event()
    rooms = GatedRooms(container.adapters.rooms(), gate)
    container.adapters.rooms.override(providers.Object(rooms))
    token = container.adapters.tokens().issue("u1", "s1", container.adapters.clock().now()).token
    runtime = chat_namespace(sio).runtime
    sessions: dict[str, dict[str, Any]] = {}  # engine.io's sockets, as far as sessions go

    async def get_session(eio_sid: str) -> dict[str, Any]:
        return sessions[eio_sid]  # KeyError once the socket is gone, as engine.io's

    sio.eio.get_session = get_session

    for n in range(3):
        eio_sid = f"eio-{n}"
        sessions[eio_sid] = {}
        await sio._handle_eio_connect(eio_sid, {})
        connecting = asyncio.create_task(
            sio._handle_eio_message(eio_sid, "0" + json.dumps({"token": token}))
        )
        await asyncio.sleep(0.01)  # the handler now waits for the rooms
        del sessions[eio_sid]
        await sio._handle_eio_disconnect(eio_sid, "transport close")
        gate.set()
        await connecting
        gate.clear()

    assert list(sio.manager.rooms.get("/", {}).get(None, {})) == []
    assert {room for room in sio.manager.rooms.get("/", {}) if room is not None} == set()
    assert runtime.online_here() == []
