"""The per-recipient overrides of issue 21 (adapters/socketio/fanout.py, engine.py, manager.py)
on python-socketio's and python-engineio's own objects: the server FlowHub builds, its engine.io
sockets as engine.io creates them, their real queues; no network."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from engineio import async_socket, exceptions
from socketio.async_pubsub_manager import AsyncPubSubManager

from adapters.socketio.engine import DeadlineSocket
from adapters.socketio.manager import RoomJoiningRedisManager
from config.container import build_container
from config.settings import load_settings
from entrypoints.realtime.server import create_realtime_server

pytestmark = pytest.mark.unit

ROOM = "room:r1"


def server() -> Any:
    return create_realtime_server(build_container(load_settings({"APP_ENV": "test"})))


async def joined(sio: Any, count: int) -> list[tuple[str, Any]]:
    """`count` sockets in ROOM: engine.io sockets stored as engine.io stores them, connected
    to the namespace and the room through python-socketio's manager."""
    sockets = []
    for n in range(count):
        eio_sid = f"eio{n}"
        sio.eio.sockets[eio_sid] = async_socket.AsyncSocket(sio.eio, eio_sid)
        sid = await sio.manager.connect(eio_sid, "/")
        await sio.manager.enter_room(sid, "/", ROOM)
        sockets.append((sid, sio.eio.sockets[eio_sid]))
    return sockets


def queued(socket: Any) -> list[Any]:
    """The events waiting on a socket's queue, decoded."""
    out = []
    while not socket.queue.empty():
        pkt = socket.queue.get_nowait()
        socket.queue.task_done()
        out.append(json.loads(pkt.data[1:]))
    return out


async def test_a_rooms_recipients_receive_every_event_in_order() -> None:
    sio = server()
    sockets = await joined(sio, 10)
    assert all(type(s) is DeadlineSocket for _, s in sockets)
    for seq in range(1, 21):
        await sio.emit("message:new", {"seq": seq}, room=ROOM)
    await sio.emit("typing", {"is_typing": True}, room=ROOM, skip_sid=sockets[0][0])
    for n, (_, socket) in enumerate(sockets):
        got = queued(socket)
        assert [m[1]["seq"] for m in got[:20]] == list(range(1, 21))
        assert [m[0] for m in got[20:]] == ([] if n == 0 else ["typing"])


async def test_a_gone_or_closed_recipient_does_not_stop_delivery_to_the_others() -> None:
    sio = server()
    sockets = await joined(sio, 6)
    del sio.eio.sockets["eio1"]  # its connection is gone, the room still names it
    sockets[3][1].closed = True  # closing: engine.io raises SocketIsClosedError on a send
    await sio.emit("message:new", {"seq": 1}, room=ROOM)
    for n, (_, socket) in enumerate(sockets):
        assert [m[1] for m in queued(socket)] == ([] if n in (1, 3) else [{"seq": 1}])


def fast_pings(sio: Any, interval: float = 0.1, timeout: float = 0.1) -> None:
    sio.eio.ping_interval, sio.eio.ping_timeout = interval, timeout


async def test_a_writer_whose_queue_stays_empty_past_the_ping_timeout_ends() -> None:
    sio = server()
    fast_pings(sio)
    socket = (await joined(sio, 1))[0][1]
    started = asyncio.get_running_loop().time()
    with pytest.raises(exceptions.QueueEmpty):
        await socket.poll()
    waited = asyncio.get_running_loop().time() - started
    assert 0.19 <= waited < 1.0
    assert socket._deadline is None  # nothing keeps the socket alive after its writer


async def test_the_deadline_bounds_each_wait_from_its_own_start() -> None:
    """A wait begun after an earlier one is not cut short by the earlier one's deadline."""
    sio = server()
    fast_pings(sio)  # bound 0.2 s
    socket = (await joined(sio, 1))[0][1]
    loop = asyncio.get_running_loop()
    loop.call_later(0.15, socket.queue.put_nowait, "a")
    assert await socket.poll() == ["a"]  # the deadline armed at 0 stays for the next wait
    deadline = socket._deadline
    loop.call_later(0.15, socket.queue.put_nowait, "b")  # at 0.30: past the first deadline
    assert await socket.poll() == ["b"]
    assert socket._deadline is not None and socket._deadline is not deadline  # moved once


async def test_a_busy_writer_arms_one_deadline_not_one_per_packet() -> None:
    sio = server()
    socket = (await joined(sio, 1))[0][1]
    loop = asyncio.get_running_loop()
    deadlines = set()
    for n in range(50):
        loop.call_soon(socket.queue.put_nowait, n)
        assert await socket.poll() == [n]
        deadlines.add(id(socket._deadline))
    assert len(deadlines) == 1
    socket.queue.put_nowait("x")
    socket.queue.put_nowait("y")
    socket.queue.put_nowait(None)
    assert await socket.poll() == ["x", "y"]  # a batch, the sentinel left for the next poll
    assert await socket.poll() == []
    assert socket._deadline is None


async def test_a_cancelled_wait_ends_like_upstreams() -> None:
    sio = server()
    socket = (await joined(sio, 1))[0][1]
    waiting = asyncio.ensure_future(socket.poll())
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(exceptions.QueueEmpty):
        await waiting


class Published(RoomJoiningRedisManager):
    """The manager with its publish kept here instead of sent to Redis: what upstream's
    `_publish` would serialize with `self.json.dumps`."""

    def __init__(self) -> None:
        super().__init__("redis://127.0.0.1:9/0")
        self.sent: list[bytes] = []

    async def _publish(self, data: Any) -> None:
        self.sent.append(self.json.dumps(data).encode())


async def test_own_messages_are_recognised_exactly_and_callbacks_for_us_are_not() -> None:
    sio = server()
    ours, theirs = Published(), Published()
    ours.set_server(sio)
    theirs.set_server(sio)
    suffix = ours.own_suffix()
    await ours.emit("message:new", {"body": 'ends "host_id": "x"}'}, namespace="/", room=ROOM)
    await ours.enter_room("not-here", "/", ROOM)  # not connected here: published
    await ours.close_room(ROOM, namespace="/")
    await AsyncPubSubManager.disconnect(ours, "s1", "/")
    assert len(ours.sent) == 4
    assert all(m.endswith(suffix) for m in ours.sent)
    assert all(json.loads(m)["host_id"] == ours.host_id for m in ours.sent)
    # another instance: its own messages, and a callback it returns to *our* host
    await theirs.emit("message:new", {"body": ours.host_id}, namespace="/", room=ROOM)
    await theirs._return_callback(ours.host_id, "sid", "/", 1, {"host_id": ours.host_id})
    assert json.loads(theirs.sent[-1])["method"] == "callback"
    assert json.loads(theirs.sent[-1])["host_id"] == ours.host_id
    assert not any(m.endswith(suffix) for m in theirs.sent)
