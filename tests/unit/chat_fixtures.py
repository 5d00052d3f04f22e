"""ChatService on memory adapters and a clock the tests move."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.memory.chat import (
    MemoryBroadcaster,
    MemoryMessageRepository,
    MemoryPresenceStore,
    MemoryRoomRepository,
    MemoryTypingStore,
)
from adapters.memory.clock import MemoryClock
from adapters.memory.rate_limit import MemoryRateLimiter
from adapters.memory.users import MemoryUserRepository
from adapters.system.ids import RandomIdGenerator
from adapters.system.tasks import AsyncioBackgroundTasks
from domain.auth.model import User
from domain.chat.service import ChatPolicy, ChatPorts, ChatService


@dataclass
class ChatWorld:
    chat: ChatService
    clock: MemoryClock
    users: MemoryUserRepository
    rooms: MemoryRoomRepository
    messages: MemoryMessageRepository
    presence: MemoryPresenceStore
    typing: MemoryTypingStore
    broadcaster: MemoryBroadcaster
    tasks: AsyncioBackgroundTasks

    async def user(self, user_id: str) -> str:
        now = self.clock.now()
        await self.users.add(User(user_id, f"{user_id}@example.com", user_id, "x", True, now, now))
        return user_id


def build_chat_world(policy: ChatPolicy | None = None) -> ChatWorld:
    clock = MemoryClock()
    users = MemoryUserRepository()
    rooms = MemoryRoomRepository()
    messages = MemoryMessageRepository()
    presence = MemoryPresenceStore(clock)
    typing = MemoryTypingStore(clock)
    broadcaster = MemoryBroadcaster()
    tasks = AsyncioBackgroundTasks()
    ports = ChatPorts(
        rooms=rooms,
        messages=messages,
        presence=presence,
        typing=typing,
        broadcaster=broadcaster,
        users=users,
        limiter=MemoryRateLimiter(clock),
        tasks=tasks,
        clock=clock,
        ids=RandomIdGenerator(),
    )
    chat = ChatService(ports, policy)
    return ChatWorld(chat, clock, users, rooms, messages, presence, typing, broadcaster, tasks)
