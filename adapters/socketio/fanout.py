"""python-socketio's local fan-out, without a task per recipient.

`socketio.AsyncManager.emit` (5.x) encodes an event once and then creates one task per
recipient socket, each running `server._send_eio_packet`, and `asyncio.wait`s them all. Each
of those sends only puts the packet on the recipient's engine.io queue (its writer task does
the network write), so the tasks buy no concurrency worth their cost: a task object, a
scheduling round and a wake-up of the waiter per recipient (issue 21's profile). Here the
packet is put on each recipient's queue in turn, which also keeps one emit's recipients in
room order.

Two differences from upstream, both deliberate:
- a send that raises (upstream's task dropped it, logged by asyncio as "exception never
  retrieved") does not stop the later recipients: a socket closed while still in the room
  (`SocketIsClosedError`) is passed over, anything else is logged;
- a recipient whose ping has expired runs its disconnect handler inside its send (engine.io's
  `check_ping_timeout`), as in upstream's task, but the later recipients of that emit wait for
  it; `emit` itself returned only after it upstream too.

Emits with a callback (one packet per recipient, each with its own ack id) keep upstream's
path: FlowHub emits none to rooms. `serial_fanout = False` is the same upstream path for every
emit (the bench's A/B switch, bench/fanout_ab.py).

This overrides a method python-socketio documents as internal to its managers;
tests/unit/test_socketio_overrides.py pins upstream's source of it.
"""

from __future__ import annotations

import logging
from typing import Any, override

import socketio
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from socketio import packet

log = logging.getLogger("flowhub.realtime")


class SerialFanoutManager(socketio.AsyncManager):  # type: ignore[misc]
    serial_fanout = True

    @override
    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback or not self.serial_fanout:
            await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to,
                **kwargs,
            )  # fmt: skip
            return
        room = to or room
        if namespace not in self.rooms:
            return
        # upstream's argument rules: a tuple is several arguments, None none, anything else one
        if isinstance(data, tuple):
            data = list(data)
        elif data is not None:
            data = [data]
        else:
            data = []
        skipped = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *data]
        ).encode()
        frames = [
            eio_packet.Packet(eio_packet.MESSAGE, p)
            for p in (encoded if isinstance(encoded, list) else [encoded])
        ]
        # get_participants yields from a copy: a recipient leaving meanwhile changes nothing here
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skipped:
                continue
            for frame in frames:
                try:
                    await self.server._send_eio_packet(eio_sid, frame)
                except eio_exceptions.SocketIsClosedError:
                    break  # closed, its disconnect under way: nothing more reaches it
                except Exception:
                    log.exception("could not queue an event for one recipient")
