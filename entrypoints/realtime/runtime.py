"""What one instance keeps about the sockets connected to it, beside the Socket.IO namespace:
who is typing where (repeats absorbed, states not renewed ended by a timer), in memory. Each
socket's connect and disconnect goes to ChatService, which counts them (presence changes at
the first and the last). No store is written for either: a typing state is this instance's,
and the room hears its start and end through the broadcaster."""

from __future__ import annotations

import asyncio
import logging

from domain.chat.model import Room
from domain.chat.service import ChatService
from ports.clock import Clock
from ports.tasks import BackgroundTasks

log = logging.getLogger("flowhub.realtime")

type TypingKey = tuple[str, str]  # (room_id, user_id)


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
