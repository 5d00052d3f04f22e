"""The auth use cases on memory adapters and a clock the tests move, built by the container."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dependency_injector import providers

from adapters.memory.clock import MemoryClock
from adapters.memory.events import MemoryEventLog
from adapters.memory.hasher import MemoryPasswordHasher
from adapters.memory.mail import MemoryMailer
from adapters.memory.otp import MemoryOtpStore
from adapters.memory.sessions import MemorySessionRepository
from adapters.memory.users import MemoryUserRepository
from adapters.system.tasks import AsyncioBackgroundTasks
from config.container import build_container
from config.settings import load_settings
from domain.auth.codes import EmailCodes
from domain.auth.login import PasswordLogin
from domain.auth.mfa import SecondFactorLogin, SecondFactorSettings
from domain.auth.model import MfaChallenge, OtpPurpose, ResetGrant, TokenPair
from domain.auth.principal import Authenticator
from domain.auth.profile import Profiles
from domain.auth.registration import Registration
from domain.auth.reset import PasswordReset
from domain.auth.sessions import Sessions
from ports.security import AccessTokenCodec

SECRET = "s" * 48
PASSWORD = "correct horse battery"


@dataclass
class World:
    registration: Registration
    password_login: PasswordLogin
    email_codes: EmailCodes
    password_reset: PasswordReset
    sessions: Sessions
    profiles: Profiles
    authenticator: Authenticator
    clock: MemoryClock
    users: MemoryUserRepository
    session_store: MemorySessionRepository
    otp: MemoryOtpStore
    mailer: MemoryMailer
    tasks: AsyncioBackgroundTasks
    tokens: AccessTokenCodec
    events: MemoryEventLog
    mfa_settings: SecondFactorSettings
    mfa_login: SecondFactorLogin

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
        await self.registration.signup(email, PASSWORD, "Ada", ip="10.0.0.1")
        return tokens(
            await self.email_codes.verify_email(email, await self.last_code(email), ip="10.0.0.1")
        )

    async def request_and_read(self, email: str, purpose: OtpPurpose) -> str:
        await self.email_codes.request_code(email, purpose, ip="10.0.0.1")
        return await self.last_code(email)


def tokens(result: TokenPair | MfaChallenge | ResetGrant) -> TokenPair:
    """The TokenPair a sign-in answered (not a second-factor challenge, not a reset grant)."""
    assert isinstance(result, TokenPair), result
    return result


class Recording:
    """A real adapter, with each method call it serves appended to `calls` as `port.method`."""

    def __init__(self, inner: object, port: str, calls: list[str]) -> None:
        self._inner, self._port, self._calls = inner, port, calls

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            self._calls.append(f"{self._port}.{name}")
            return value(*args, **kwargs)

        return call


def build_world(calls: list[str] | None = None) -> World:
    """With `calls`, every call the use cases make to the stores, the limiter and the hasher
    is recorded there."""
    settings = load_settings({"JWT_SECRET": SECRET, "JWT_REFRESH_SECRET": "r" * 48})
    container = build_container(settings)
    adapters, services = container.adapters, container.services
    clock, events, tasks = MemoryClock(), MemoryEventLog(), AsyncioBackgroundTasks()
    adapters.clock.override(providers.Object(clock))
    adapters.events.override(providers.Object(events))
    adapters.tasks.override(providers.Object(tasks))
    adapters.hasher.override(providers.Singleton(MemoryPasswordHasher))
    users, sessions, otp, mailer = (
        adapters.users(),
        adapters.sessions(),
        adapters.otp(),
        adapters.mailer(),
    )
    assert isinstance(users, MemoryUserRepository)
    assert isinstance(sessions, MemorySessionRepository)
    assert isinstance(otp, MemoryOtpStore)
    assert isinstance(mailer, MemoryMailer)
    if calls is not None:
        for port in ("users", "sessions", "otp", "limiter", "hasher"):
            adapter = getattr(adapters, port)
            adapter.override(providers.Object(Recording(adapter(), port, calls)))
    return World(
        services.registration(),
        services.password_login(),
        services.email_codes(),
        services.password_reset(),
        services.sessions(),
        services.profiles(),
        services.authenticator(),
        clock,
        users,
        sessions,
        otp,
        mailer,
        tasks,
        adapters.tokens(),
        events,
        services.second_factor_settings(),
        services.second_factor_login(),
    )
