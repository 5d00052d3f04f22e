"""ChatService on memory adapters and a clock the tests move, with the per-instance runtime
the realtime entry point keeps beside it."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.memory.chat import (
    LoneInstance,
    MemoryBroadcaster,
    MemoryMessageRepository,
    MemoryRoomRepository,
)
from adapters.memory.clock import MemoryClock
from adapters.memory.rate_limit import MemoryRateLimiter
from adapters.memory.users import MemoryUserRepository
from adapters.system.ids import RandomIdGenerator
from adapters.system.tasks import AsyncioBackgroundTasks
from adapters.system.turns import LocalRoomTurns
from domain.auth.model import User
from domain.chat.presence import Presence
from domain.chat.service import ChatPolicy, ChatService
from entrypoints.realtime.runtime import ChatRuntime


@dataclass
class ChatWorld:
    chat: ChatService
    clock: MemoryClock
    users: MemoryUserRepository
    rooms: MemoryRoomRepository
    messages: MemoryMessageRepository
    presence: Presence
    cluster: LoneInstance
    broadcaster: MemoryBroadcaster
    tasks: AsyncioBackgroundTasks
    turns: LocalRoomTurns
    runtime: ChatRuntime

    async def user(self, user_id: str) -> str:
        now = self.clock.now()
        await self.users.add(User(user_id, f"{user_id}@example.com", user_id, "x", True, now, now))
        return user_id


def build_chat_world(policy: ChatPolicy | None = None) -> ChatWorld:
    clock = MemoryClock()
    users = MemoryUserRepository()
    rooms = MemoryRoomRepository()
    messages = MemoryMessageRepository()
    presence = Presence()
    cluster = LoneInstance()
    broadcaster = MemoryBroadcaster()
    tasks = AsyncioBackgroundTasks()
    turns = LocalRoomTurns()
    chat = ChatService(
        rooms=rooms,
        messages=messages,
        presence=presence,
        cluster=cluster,
        broadcaster=broadcaster,
        users=users,
        limiter=MemoryRateLimiter(clock),
        tasks=tasks,
        clock=clock,
        ids=RandomIdGenerator(),
        turns=turns,
        policy=policy,
    )
    runtime = ChatRuntime(chat, clock, tasks)
    return ChatWorld(
        chat, clock, users, rooms, messages, presence, cluster, broadcaster, tasks, turns, runtime
    )
