"""The private methods of python-socketio that FlowHub overrides, where it offers no public
hook: each must still exist upstream with the signature the override assumes, and still be
the path a packet takes. An upgrade that changes one fails here, not silently in production."""

from __future__ import annotations

import inspect

import pytest
import socketio

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
