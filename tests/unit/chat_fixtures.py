"""ChatService and MessageEdits from the app's own container on its memory adapters, with a
clock the tests move, a broadcaster that records, and the per-instance runtime the realtime
entry point keeps beside them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from dependency_injector import providers

from adapters.memory.chat import (
    LoneInstance,
    MemoryBroadcaster,
    MemoryMessageRepository,
    MemoryRoomRepository,
)
from adapters.memory.clock import MemoryClock
from adapters.memory.files import MemoryFileRepository
from adapters.memory.users import MemoryUserRepository
from adapters.system.tasks import AsyncioBackgroundTasks
from adapters.system.turns import LocalRoomTurns
from config.container import build_container
from config.settings import load_settings
from domain.auth.model import User
from domain.chat.attachments import AttachmentReader
from domain.chat.edits import EditPolicy, MessageEdits
from domain.chat.presence import Presence
from domain.chat.service import ChatPolicy, ChatService
from entrypoints.realtime.runtime import ChatRuntime

SECRET = "s" * 48


@dataclass
class ChatWorld:
    chat: ChatService
    edits: MessageEdits
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
    files: MemoryFileRepository
    attachments: AttachmentReader

    async def user(self, user_id: str) -> str:
        now = self.clock.now()
        await self.users.add(User(user_id, f"{user_id}@example.com", user_id, "x", True, now, now))
        return user_id


def build_chat_world(
    policy: ChatPolicy | None = None, edit_policy: EditPolicy | None = None
) -> ChatWorld:
    container = build_container(load_settings({"APP_ENV": "test", "JWT_SECRET": SECRET}))
    adapters, services = container.adapters, container.services
    clock, broadcaster, turns = MemoryClock(), MemoryBroadcaster(), LocalRoomTurns()
    adapters.clock.override(providers.Object(clock))
    adapters.broadcaster.override(providers.Object(broadcaster))
    chat_provider = cast("providers.Singleton[ChatService]", services.chat)
    chat_provider.add_kwargs(turns=turns)  # the test reads how many room locks are kept
    if policy is not None:
        chat_provider.add_kwargs(policy=policy)
    if edit_policy is not None:
        edits_provider = cast("providers.Singleton[MessageEdits]", services.message_edits)
        edits_provider.add_kwargs(policy=edit_policy)
    users, rooms, messages, cluster, tasks = (
        adapters.users(),
        adapters.rooms(),
        adapters.messages(),
        adapters.cluster(),
        adapters.tasks(),
    )
    assert isinstance(users, MemoryUserRepository)
    assert isinstance(rooms, MemoryRoomRepository)
    assert isinstance(messages, MemoryMessageRepository)
    assert isinstance(cluster, LoneInstance)
    assert isinstance(tasks, AsyncioBackgroundTasks)
    files = adapters.files()
    assert isinstance(files, MemoryFileRepository)
    chat = services.chat()
    return ChatWorld(
        chat,
        services.message_edits(),
        clock,
        users,
        rooms,
        messages,
        adapters.presence(),
        cluster,
        broadcaster,
        tasks,
        turns,
        ChatRuntime(chat, clock, tasks),
        files,
        services.attachments(),
    )
