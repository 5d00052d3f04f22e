"""The private methods of python-socketio that FlowHub overrides, where it offers no public
hook: each must still exist upstream with the signature the override assumes, and still be
the path a packet takes. An upgrade that changes one fails here, not silently in production."""

from __future__ import annotations

import hashlib
import inspect

import engineio
import pytest
import socketio
from engineio import async_socket
from socketio.async_pubsub_manager import AsyncPubSubManager

from adapters.socketio.engine import DeadlineEngineServer, DeadlineSocket
from adapters.socketio.fanout import SerialFanoutManager
from adapters.socketio.manager import RoomJoiningRedisManager
from config.container import build_container
from config.settings import load_settings
from entrypoints.realtime.server import ChatNamespace, FlowHubSocketServer, create_realtime_server

pytestmark = pytest.mark.unit


def params(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_the_server_overrides_match_python_socketio() -> None:
    upstream = socketio.AsyncServer
    assert params(upstream._handle_eio_message) == ["self", "eio_sid", "data"]
    assert params(upstream._handle_event) == ["self", "eio_sid", "namespace", "id", "data"]
    for name in ("_handle_eio_message", "_handle_event"):
        assert params(getattr(FlowHubSocketServer, name)) == params(getattr(upstream, name))
        assert inspect.iscoroutinefunction(getattr(upstream, name))
    # every EVENT packet goes through `_handle_event`, and engine.io hands every message to
    # `_handle_eio_message`, so the guards see each packet before any dispatch
    assert "self._handle_event(" in inspect.getsource(upstream._handle_eio_message)
    sio = create_realtime_server(build_container(load_settings({"APP_ENV": "test"})))
    assert sio.eio.handlers["message"] == sio._handle_eio_message


def test_the_namespace_uses_the_documented_hook() -> None:
    assert params(socketio.AsyncNamespace.trigger_event) == ["self", "event", "args"]
    assert params(ChatNamespace.trigger_event) == ["self", "event", "args"]


def test_the_redis_manager_overrides_match_python_socketio() -> None:
    upstream = socketio.AsyncRedisManager
    assert params(upstream._handle_emit) == ["self", "message"]
    assert params(upstream._publish) == ["self", "data"]
    assert params(upstream._redis_listen_with_retries) == ["self"]
    assert inspect.isasyncgenfunction(upstream._redis_listen_with_retries)
    for name in ("_handle_emit", "_publish", "_redis_listen_with_retries"):
        assert params(getattr(RoomJoiningRedisManager, name)) == params(getattr(upstream, name))
    # the listener loop is a copy with the backoff capped: it must still call what it calls
    source = inspect.getsource(upstream._redis_listen_with_retries)
    for call in ("self._redis_connect()", "self.pubsub.subscribe(self.channel)", "pubsub.listen()"):
        assert call in source
    assert "self._redis_listen_with_retries()" in inspect.getsource(upstream._listen)


def source_hash(function: object) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]  # type: ignore[arg-type]


def test_the_serial_fanout_replaces_upstreams_emit_as_pinned() -> None:
    """adapters/socketio/fanout.py is upstream's `AsyncManager.emit` with the tasks taken out:
    a change upstream (5.18.1's source is pinned) must be looked at and carried over."""
    assert source_hash(socketio.AsyncManager.emit) == "01ccd5b82b4f955e"
    assert params(SerialFanoutManager.emit) == params(socketio.AsyncManager.emit)
    # the pub/sub layer delivers locally through `super().emit`, which the MRO makes ours
    mro = RoomJoiningRedisManager.__mro__
    assert mro.index(AsyncPubSubManager) < mro.index(SerialFanoutManager)
    assert mro.index(SerialFanoutManager) < mro.index(socketio.AsyncManager)
    assert "await super().emit(" in inspect.getsource(AsyncPubSubManager._handle_emit)
    assert "await self.eio.send_packet(" in inspect.getsource(socketio.AsyncServer._send_eio_packet)
    sio = create_realtime_server(build_container(load_settings({"APP_ENV": "test"})))
    assert isinstance(sio.manager, SerialFanoutManager) and sio.manager.serial_fanout


def test_the_deadline_writer_replaces_upstreams_poll_as_pinned() -> None:
    """adapters/socketio/engine.py: `poll` with one deadline per socket instead of a
    `wait_for` per wake-up; the socket class is swapped as engine.io stores each socket."""
    assert source_hash(async_socket.AsyncSocket.poll) == "826f58a9f3606db2"
    assert params(DeadlineSocket.poll) == params(async_socket.AsyncSocket.poll) == ["self"]
    connect = inspect.getsource(engineio.AsyncServer._handle_connect)
    assert "s = async_socket.AsyncSocket(self, sid)\n        self.sockets[sid] = s" in connect
    # the writer and a long-polling GET are the callers; both end on QueueEmpty or []
    handler = inspect.getsource(async_socket.AsyncSocket._websocket_handler)
    assert "packets = await self.poll()" in handler
    assert "await self.queue.put(None)" in handler
    assert "await self.poll()" in inspect.getsource(async_socket.AsyncSocket.handle_get_request)
    assert "return engineio.AsyncServer" in inspect.getsource(
        socketio.AsyncServer._engineio_server_class
    )
    sio = create_realtime_server(build_container(load_settings({"APP_ENV": "test"})))
    assert isinstance(sio.eio, DeadlineEngineServer)


def test_the_listener_skips_only_what_upstream_drops_by_host_id() -> None:
    """Our messages are recognised by their last bytes: upstream's dicts end with `host_id`,
    serialized by `self.json.dumps`, decoded by `_thread` and dropped by `host_id` there
    (a `callback`, which names the target host, excepted)."""
    assert "self.json.dumps(data)" in inspect.getsource(socketio.AsyncRedisManager._publish)
    thread = inspect.getsource(AsyncPubSubManager._thread)
    assert "data = self.json.loads(message)" in thread
    assert "if data['method'] == 'callback':" in thread
    assert "elif data.get('host_id') != self.host_id:" in thread
    listen = inspect.getsource(socketio.AsyncRedisManager._listen)
    assert "yield message['data']" in listen
    for method in ("emit", "can_disconnect", "disconnect", "enter_room", "leave_room"):
        assert "'host_id': self.host_id}" in inspect.getsource(getattr(AsyncPubSubManager, method))
    assert "'host_id': self.host_id}" in inspect.getsource(AsyncPubSubManager.close_room)
