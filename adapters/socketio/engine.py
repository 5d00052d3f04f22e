"""python-engineio's server socket, with a writer that arms no timer per packet.

`engineio.async_socket.AsyncSocket.poll` (4.x) takes each batch of packets with
`asyncio.wait_for(queue.get(), ping_interval + ping_timeout)`: a timeout scope, so a timer
pushed onto the loop's heap and cancelled again, for every wake-up of every socket's writer.
In a room of 10 that is 10 timers per message (9.7% of the CPU per message, issue 21's A/B).

`DeadlineSocket.poll` keeps upstream's meaning: the writer (and a long-polling GET) ends with
`QueueEmpty` when the queue has stayed empty for `ping_interval + ping_timeout`, returns `[]`
on the `None` sentinel, and takes everything queued behind the first packet in one batch.
What changes is how the wait is bounded: a packet already queued is taken without waiting,
and a wait is bounded by one deadline per socket that lives across waits. When the deadline
fires it looks at the wait in progress: begun at least the bound ago, it ends it (a private
sentinel put on the queue wakes the waiter, which raises `QueueEmpty`); begun later, the
deadline moves to that wait's end; no wait in progress, it lapses and the next wait arms a new
one. So a busy socket re-arms a timer about once per bound (40 s), not per packet.

Upstream turns a cancelled wait into `QueueEmpty` too; so does this.

`DeadlineEngineServer` is the engine.io server FlowHubSocketServer builds (python-socketio's
`_engineio_server_class`). engine.io creates each socket as `async_socket.AsyncSocket(self,
sid)` in `_handle_connect` and has no hook for the class, so the server's socket table adopts
each socket as it is stored, before any poll: `DeadlineSocket` adds no state to upstream's
socket (the deadline fields are class defaults until used). tests/unit/test_socketio_overrides.py
pins upstream's source of what this relies on.
"""

from __future__ import annotations

import asyncio
from typing import Any

import engineio
from engineio import async_socket, exceptions

_EXPIRED = object()  # put on the queue by the deadline: the wait in progress is over


class DeadlineSocket(async_socket.AsyncSocket):  # type: ignore[misc]
    _waiting_since: float | None = None
    _deadline: asyncio.TimerHandle | None = None

    async def poll(self) -> list[Any]:
        try:
            first = self.queue.get_nowait()
        except asyncio.QueueEmpty:
            first = await self._wait()
        self.queue.task_done()
        if first is _EXPIRED:
            self._disarm()
            raise exceptions.QueueEmpty()
        if first is None:
            self._disarm()
            return []
        packets = [first]
        while True:
            try:
                pkt = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            self.queue.task_done()
            if pkt is _EXPIRED:  # a wait that was cancelled after its deadline fired
                continue
            if pkt is None:
                self.queue.put_nowait(None)
                break
            packets.append(pkt)
        return packets

    async def _wait(self) -> Any:
        loop = asyncio.get_running_loop()
        self._waiting_since = loop.time()
        if self._deadline is None:
            self._deadline = loop.call_at(self._waiting_since + self._bound(), self._expire)
        try:
            return await self.queue.get()
        except asyncio.CancelledError:
            self._disarm()
            raise exceptions.QueueEmpty() from None
        finally:
            self._waiting_since = None

    def _bound(self) -> float:
        return float(self.server.ping_interval + self.server.ping_timeout)

    def _expire(self) -> None:
        self._deadline = None
        since = self._waiting_since
        if since is None:
            return
        loop = asyncio.get_running_loop()
        due = since + self._bound()
        if loop.time() >= due:
            self.queue.put_nowait(_EXPIRED)
        else:
            self._deadline = loop.call_at(due, self._expire)

    def _disarm(self) -> None:
        """The writer is done: the deadline must not keep the socket alive for its bound."""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None


class _AdoptingSockets(dict[str, Any]):
    """engine.io's `sockets` table: each upstream socket stored is made a DeadlineSocket."""

    def __setitem__(self, sid: str, socket: Any) -> None:
        if type(socket) is async_socket.AsyncSocket:
            socket.__class__ = DeadlineSocket
        super().__setitem__(sid, socket)


class DeadlineEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    sockets: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sockets = _AdoptingSockets(self.sockets)
