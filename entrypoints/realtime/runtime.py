"""What one instance keeps about the sockets connected to it, beside the Socket.IO namespace:
how many sockets each user has here (presence changes at the first and the last), who is
typing where (repeats absorbed, states not renewed ended by a timer), and the loop that
renews everyone connected here in one store call. ChatService holds the rules; this holds
the transitions, in memory, so Redis is written only when one happens."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from domain.chat.model import Room
from domain.chat.service import ChatService
from domain.errors import ServiceUnavailable
from ports.clock import Clock
from ports.tasks import BackgroundTasks

log = logging.getLogger("flowhub.realtime")

type TypingKey = tuple[str, str]  # (room_id, user_id)


class ChatRuntime:
    def __init__(self, chat: ChatService, clock: Clock, tasks: BackgroundTasks) -> None:
        self._chat = chat
        self._clock = clock
        self._tasks = tasks
        self._sockets: Counter[str] = Counter()  # connected sockets per user on this instance
        self._typing_renewed: dict[TypingKey, float] = {}
        self._typing_timers: dict[TypingKey, asyncio.TimerHandle] = {}

    # presence ------------------------------------------------------------------------

    async def connected(self, user_id: str) -> list[Room]:
        """A socket of `user_id` connected here: its rooms (to join); `online` to them when
        the user was offline."""
        rooms = await self._chat.rooms(user_id)
        self._sockets[user_id] += 1
        if self._sockets[user_id] == 1:
            await self._chat.came_online(user_id, self._sockets)
        return rooms

    async def disconnected(self, user_id: str) -> None:
        """A socket of `user_id` left this instance; at its last one, `offline`."""
        self._sockets[user_id] -= 1
        if self._sockets[user_id] > 0:
            return
        del self._sockets[user_id]
        await self._chat.went_offline(user_id)

    def online_here(self) -> list[str]:
        return sorted(self._sockets)

    async def renew_presence(self) -> None:
        """Renew every user connected here, in one call to the store."""
        users = self.online_here()
        if users:  # nobody here to tell otherwise, and no command spent while idle
            await self._chat.renew_presence(users, users)

    async def renew_presence_forever(self) -> None:
        """`renew_presence` every `presence_renew_s`, until cancelled."""
        every = self._chat.policy.presence_renew_s
        while True:
            await asyncio.sleep(every)
            try:
                await self.renew_presence()
            except ServiceUnavailable:
                log.warning("could not renew presence; retrying next interval")
            except Exception:
                log.exception("presence renewal failed")

    # typing --------------------------------------------------------------------------

    async def typing(self, user_id: str, room_id: str, is_typing: bool) -> None:
        room = await self._chat.room(user_id, room_id)
        key = (room_id, user_id)
        now = self._clock.monotonic()
        if not is_typing:
            self._cancel_timer(key)
            self._typing_renewed.pop(key, None)
            await self._chat.stop_typing(room, user_id)
            return
        last = self._typing_renewed.get(key)
        if last is not None and now - last < self._chat.policy.typing_absorb_s:
            return  # absorbed: renewed less than a second ago
        self._typing_renewed[key] = now
        await self._chat.start_typing(room, user_id)
        self._arm_timer(key)

    def _arm_timer(self, key: TypingKey) -> None:
        """When the state is not renewed within its TTL, it ends and the room is told."""
        self._cancel_timer(key)
        loop = asyncio.get_running_loop()
        delay = self._chat.policy.typing_ttl_s + 0.05
        self._typing_timers[key] = loop.call_later(delay, self._typing_expired, key)

    def _cancel_timer(self, key: TypingKey) -> None:
        timer = self._typing_timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def _typing_expired(self, key: TypingKey) -> None:
        self._typing_timers.pop(key, None)
        self._typing_renewed.pop(key, None)
        self._tasks.spawn(self._chat.typing_lapsed(*key), f"chat-typing-expired-{key[0]}")
