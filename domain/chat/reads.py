"""Read state: how far each member has read each room, the unread counts that follow, and the
receipts the others see ("seen by").

A mark only moves forward and never past the room's last message. A fast reader (a mark per
message arriving) costs few writes: per member and room, the first mark is written and told
at once, the ones within the next `interval_s` are coalesced into one trailing write and one
`receipt` (the highest of them). What an instance holds for that moment is lost if it dies in
between: the member's next mark repairs it. A sender has read their own message: sending
marks it (through the same coalescing) without a `receipt`: the others know who sent it, and
a receipt per message would be a PUBLISH per message with several instances."""

from __future__ import annotations

import asyncio

from domain.chat.model import ReadState, Room
from ports.chat import ReadMarks, RealtimeBroadcaster
from ports.clock import Clock
from ports.tasks import BackgroundTasks

type Key = tuple[str, str]  # (room_id, user_id)


class ReadReceipts:
    def __init__(
        self,
        marks: ReadMarks,
        broadcaster: RealtimeBroadcaster,
        clock: Clock,
        tasks: BackgroundTasks,
        interval_s: float = 2.0,
    ) -> None:
        self._marks = marks
        self._broadcaster = broadcaster
        self._clock = clock
        self._tasks = tasks
        self._interval_s = interval_s
        self._written: dict[Key, tuple[float, int]] = {}  # when last written, and the mark
        self._pending: dict[Key, int] = {}  # marks waiting for their trailing write
        self._told: set[Key] = set()  # pending marks the room is to hear of

    async def mark(self, room: Room, user_id: str, seq: int, *, tell: bool = True) -> ReadState:
        """The member has seen the room up to `seq` (clamped to its last message)."""
        seq = max(0, min(seq, room.last_seq))
        key = (room.id, user_id)
        now = self._clock.monotonic()
        written_at, known = self._written.get(key, (-self._interval_s, 0))
        if seq <= max(known, self._pending.get(key, 0)):
            return self._state(room, max(known, self._pending.get(key, 0)))
        if now - written_at >= self._interval_s:
            stored = await self._write(key, seq, now, tell)
            return self._state(room, stored)
        if key not in self._pending:
            self._tasks.spawn(self._trailing(key, written_at), f"chat-read-{room.id}")
        self._pending[key] = seq
        if tell:
            self._told.add(key)
        return self._state(room, seq)

    async def of_user(self, user_id: str, rooms: list[Room]) -> dict[str, int]:
        """The user's marks in those rooms, this instance's newest included."""
        stored = await self._marks.of_user(user_id, [r.id for r in rooms])
        for room in rooms:
            held = self._pending.get((room.id, user_id), 0)
            if held > stored.get(room.id, 0):
                stored[room.id] = held
        return stored

    async def of_room(self, room: Room) -> dict[str, int]:
        """Every member's mark in the room (for "seen by"); left members are left out."""
        marks = await self._marks.of_room(room.id)
        for (room_id, user_id), held in self._pending.items():
            if room_id == room.id and held > marks.get(user_id, 0):
                marks[user_id] = held
        return {u: seq for u, seq in marks.items() if room.has_member(u)}

    async def forget(self, user_id: str) -> None:
        """Drop the user's marks everywhere, the ones this instance still holds included (a
        trailing write waiting then finds nothing to write)."""
        for key in [k for k in self._pending if k[1] == user_id]:
            del self._pending[key]
            self._told.discard(key)
        for key in [k for k in self._written if k[1] == user_id]:
            del self._written[key]
        await self._marks.forget(user_id)

    def state(self, room: Room, mark: int) -> ReadState:
        return self._state(room, mark)

    def _state(self, room: Room, mark: int) -> ReadState:
        return ReadState(room.id, mark, max(0, room.last_seq - mark))

    async def _trailing(self, key: Key, written_at: float) -> None:
        await asyncio.sleep(max(0.0, written_at + self._interval_s - self._clock.monotonic()))
        seq = self._pending.pop(key, None)
        tell = key in self._told
        self._told.discard(key)
        if seq is not None:
            await self._write(key, seq, self._clock.monotonic(), tell)

    async def _write(self, key: Key, seq: int, now: float, tell: bool) -> int:
        room_id, user_id = key
        stored = await self._marks.advance(room_id, user_id, seq)
        self._written[key] = (now, stored)
        if len(self._written) > 10_000:  # marks older than the interval need no memory
            cutoff = now - self._interval_s
            self._written = {k: v for k, v in self._written.items() if v[0] > cutoff}
        if tell:
            await self._broadcaster.receipt(room_id, user_id, stored)
        return stored
