"""What one instance keeps about the sockets connected to it, beside the Socket.IO namespace:
who is typing where (repeats absorbed, states not renewed ended by a timer), in memory. Each
socket's connect and disconnect goes to ChatService, which counts them (presence changes at
the first and the last). No store is written for either: a typing state is this instance's,
and the room hears its start and end through the broadcaster.

`SocketLimits` bounds what one client may take of this instance (issue 14 item 13): sockets
per user and per client address (Fly's proxy allows 500 connections a machine, and one client
should not hold them all), and events per socket in each 10-second window. All in memory, per
instance: no Redis command per connect or event.

`SocketSessions` knows which session each socket opened with and ends each socket when its
access token expires (a timer per socket), so a revoked session's sockets are found at once
and an expired token does not keep a socket listening (issue 14 item 3)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection

from domain.auth.principal import Principal
from domain.chat.model import Room
from domain.chat.service import ChatService
from ports.clock import Clock
from ports.tasks import BackgroundTasks

log = logging.getLogger("flowhub.realtime")

type TypingKey = tuple[str, str]  # (room_id, user_id)

EVENT_WINDOW_S = 10.0


class SocketLimits:
    """Sockets held per user and per address, and each socket's event budget."""

    def __init__(self, per_user: int, per_ip: int, events_per_window: int, clock: Clock) -> None:
        self.per_user = per_user
        self.per_ip = per_ip
        self.events_per_window = events_per_window
        self._clock = clock
        self._holders: dict[str, tuple[str, str]] = {}  # sid -> (user_id, ip)
        self._by_user: dict[str, int] = {}
        self._by_ip: dict[str, int] = {}
        self._windows: dict[str, tuple[float, int]] = {}  # sid -> (window start, events)
        self._over: set[str] = set()
        self._closing: set[str] = set()

    def admit(self, sid: str, user_id: str, ip: str) -> bool:
        """Count the socket in, unless its user or its address holds the most already."""
        if sid in self._holders:
            return True
        if self._by_user.get(user_id, 0) >= self.per_user:
            return False
        if self._by_ip.get(ip, 0) >= self.per_ip:
            return False
        self._holders[sid] = (user_id, ip)
        self._by_user[user_id] = self._by_user.get(user_id, 0) + 1
        self._by_ip[ip] = self._by_ip.get(ip, 0) + 1
        return True

    def release(self, sid: str) -> None:
        """The socket is gone (or never opened): counted out; a second call does nothing."""
        self._windows.pop(sid, None)
        self._over.discard(sid)
        self._closing.discard(sid)
        held = self._holders.pop(sid, None)
        if held is None:
            return
        user_id, ip = held
        _decrement(self._by_user, user_id)
        _decrement(self._by_ip, ip)

    def spend(self, sid: str) -> bool:
        """One event of the socket: False when it is over its budget for this window (and
        every later one, the socket being on its way out)."""
        if sid in self._over:
            return False
        now = self._clock.monotonic()
        start, used = self._windows.get(sid, (now, 0))
        if now - start >= EVENT_WINDOW_S:
            start, used = now, 0
        used += 1
        self._windows[sid] = (start, used)
        if used > self.events_per_window:
            self._over.add(sid)
            return False
        return True

    def closing(self, sid: str) -> bool:
        """True the first time it is asked for a socket over its budget: the caller
        disconnects it once, however many of its events are still arriving."""
        if sid not in self._over or sid in self._closing:
            return False
        self._closing.add(sid)
        return True

    def user_sockets(self, user_id: str) -> int:
        return self._by_user.get(user_id, 0)

    def ip_sockets(self, ip: str) -> int:
        return self._by_ip.get(ip, 0)


class SocketSessions:
    """The session each socket opened with (or renewed to), and a timer that calls
    `expired(sid)` when that access token expires."""

    def __init__(self, clock: Clock, expired: Callable[[str], None]) -> None:
        self._clock = clock
        self._expired = expired
        self._of: dict[str, tuple[str, asyncio.TimerHandle]] = {}  # sid -> (session, timer)
        self._by_session: dict[str, set[str]] = {}

    def track(self, sid: str, principal: Principal) -> None:
        """The socket holds `principal` now (at connect, or renewed): its expiry re-armed."""
        self.forget(sid)
        delay = (principal.expires_at - self._clock.now()).total_seconds()
        timer = asyncio.get_running_loop().call_later(max(delay, 0.0), self._expired, sid)
        self._of[sid] = (principal.session_id, timer)
        self._by_session.setdefault(principal.session_id, set()).add(sid)

    def forget(self, sid: str) -> bool:
        """Stop following the socket; False when it was not followed (already forgotten)."""
        held = self._of.pop(sid, None)
        if held is None:
            return False
        session_id, timer = held
        timer.cancel()
        sids = self._by_session.get(session_id)
        if sids is not None:
            sids.discard(sid)
            if not sids:
                del self._by_session[session_id]
        return True

    def of_sessions(self, session_ids: Collection[str]) -> list[str]:
        """This instance's sockets opened with any of those sessions."""
        return [sid for s in session_ids for sid in self._by_session.get(s, ())]

    def __len__(self) -> int:
        return len(self._of)


def _decrement(counts: dict[str, int], key: str) -> None:
    left = counts.get(key, 0) - 1
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)


class ChatRuntime:
    def __init__(self, chat: ChatService, clock: Clock, tasks: BackgroundTasks) -> None:
        self._chat = chat
        self._clock = clock
        self._tasks = tasks
        self._typing_renewed: dict[TypingKey, float] = {}
        self._typing_timers: dict[TypingKey, asyncio.TimerHandle] = {}

    # presence ------------------------------------------------------------------------

    async def connected(self, user_id: str) -> list[Room]:
        """A socket of `user_id` connected here: its rooms (to join); `online` to them when
        the user was offline."""
        rooms = await self._chat.rooms(user_id)
        await self._chat.socket_connected(user_id)
        return rooms

    async def disconnected(self, user_id: str) -> None:
        """A socket of `user_id` left this instance; after their last one anywhere, `offline`."""
        await self._chat.socket_disconnected(user_id)

    def online_here(self) -> list[str]:
        return self._chat.online_here()

    # typing --------------------------------------------------------------------------

    async def typing(self, user_id: str, room_id: str, is_typing: bool) -> None:
        await self._chat.room(user_id, room_id)
        key = (room_id, user_id)
        if not is_typing:
            if self._end(key):
                await self._chat.typing_ended(room_id, user_id)
            return
        now = self._clock.monotonic()
        last = self._typing_renewed.get(key)
        if last is not None and now - last < self._chat.policy.typing_absorb_s:
            return  # absorbed: renewed less than a second ago
        self._typing_renewed[key] = now
        started = key not in self._typing_timers
        self._arm_timer(key)
        if started:
            await self._chat.typing_started(room_id, user_id)

    async def sent(self, user_id: str, room_id: str) -> None:
        """The user's message in the room ends their typing state there."""
        if self._end((room_id, user_id)):
            await self._chat.typing_ended(room_id, user_id, by_message=True)

    def is_typing(self, room_id: str, user_id: str) -> bool:
        return (room_id, user_id) in self._typing_timers

    def _end(self, key: TypingKey) -> bool:
        """Forget the state; True when there was one."""
        self._typing_renewed.pop(key, None)
        timer = self._typing_timers.pop(key, None)
        if timer is None:
            return False
        timer.cancel()
        return True

    def _arm_timer(self, key: TypingKey) -> None:
        """When the state is not renewed within its TTL, it ends and the room is told."""
        timer = self._typing_timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        loop = asyncio.get_running_loop()
        delay = self._chat.policy.typing_ttl_s + 0.05
        self._typing_timers[key] = loop.call_later(delay, self._typing_expired, key)

    def _typing_expired(self, key: TypingKey) -> None:
        self._typing_timers.pop(key, None)
        self._typing_renewed.pop(key, None)
        self._tasks.spawn(self._chat.typing_ended(*key), f"chat-typing-expired-{key[0]}")
