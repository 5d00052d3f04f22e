"""AuthService on memory adapters and a clock the tests move."""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.jwt.access_tokens import JwtAccessTokenCodec
from adapters.memory.cache import MemoryCache
from adapters.memory.clock import MemoryClock
from adapters.memory.events import MemoryEventLog
from adapters.memory.hasher import MemoryPasswordHasher
from adapters.memory.mail import MemoryMailer
from adapters.memory.otp import MemoryOtpStore
from adapters.memory.rate_limit import MemoryRateLimiter
from adapters.memory.sessions import MemorySessionRepository
from adapters.memory.users import MemoryUserRepository
from adapters.system.ids import RandomIdGenerator
from adapters.system.tasks import AsyncioBackgroundTasks
from domain.auth.model import OtpPurpose, TokenPair
from domain.auth.secrets import Keyring
from domain.auth.service import AuthPorts, AuthService

SECRET = "s" * 48
PASSWORD = "correct horse battery"


@dataclass
class World:
    auth: AuthService
    clock: MemoryClock
    users: MemoryUserRepository
    sessions: MemorySessionRepository
    otp: MemoryOtpStore
    mailer: MemoryMailer
    tasks: AsyncioBackgroundTasks
    tokens: JwtAccessTokenCodec
    events: MemoryEventLog

    async def mail_to(self, email: str) -> list[str]:
        await self.tasks.drain(5)
        return [m.subject for m in self.mailer.messages_to(email)]

    async def last_code(self, email: str) -> str:
        await self.tasks.drain(5)
        messages = self.mailer.messages_to(email)
        assert messages, f"no mail to {email}"
        match = re.search(r"\b(\d{6})\b", messages[0].text)
        assert match, messages[0].text
        return match.group(1)

    async def verified_user(self, email: str = "ada@example.com") -> TokenPair:
        await self.auth.signup(email, PASSWORD, "Ada", ip="10.0.0.1")
        return await self.auth.verify_email(email, await self.last_code(email))

    async def request_and_read(self, email: str, purpose: OtpPurpose) -> str:
        await self.auth.request_code(email, purpose)
        return await self.last_code(email)


def build_world() -> World:
    clock = MemoryClock()
    users = MemoryUserRepository()
    sessions = MemorySessionRepository(clock)
    otp = MemoryOtpStore(clock)
    mailer = MemoryMailer(clock)
    tasks = AsyncioBackgroundTasks()
    tokens = JwtAccessTokenCodec(SECRET)
    events = MemoryEventLog()
    ports = AuthPorts(
        users=users,
        sessions=sessions,
        otp=otp,
        limiter=MemoryRateLimiter(clock),
        cache=MemoryCache(clock),
        mailer=mailer,
        hasher=MemoryPasswordHasher(),
        tokens=tokens,
        tasks=tasks,
        clock=clock,
        ids=RandomIdGenerator(),
        events=events,
    )
    auth = AuthService(ports, Keyring("r" * 48))
    return World(auth, clock, users, sessions, otp, mailer, tasks, tokens, events)
