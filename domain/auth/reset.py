"""Password reset: spend the grant a `password_reset` code gave, set the password, sign out
everywhere."""

from __future__ import annotations

from dataclasses import dataclass

from domain.auth.errors import InvalidToken
from domain.auth.limits import login_failures_key
from domain.auth.revocations import RevokedSessions
from domain.auth.secrets import Keyring
from ports.clock import Clock
from ports.events import EventLog
from ports.otp import OtpStore
from ports.rate_limit import RateLimiter
from ports.security import PasswordHasher
from ports.sessions import SessionRepository
from ports.users import UserRepository


@dataclass(kw_only=True, slots=True)
class PasswordReset:
    users: UserRepository
    sessions: SessionRepository
    otp: OtpStore
    hasher: PasswordHasher
    limiter: RateLimiter
    keys: Keyring
    clock: Clock
    events: EventLog
    revoked: RevokedSessions

    async def reset_password(self, reset_token: str, new_password: str) -> None:
        opened = self.keys.open_reset_token(reset_token)
        if opened is None:
            raise InvalidToken()
        user_id, grant_id, expires_at = opened
        if expires_at < self.clock.now().timestamp():
            raise InvalidToken()
        if not await self.otp.take_reset(user_id, grant_id):
            raise InvalidToken()
        user = await self.users.get(user_id)
        if user is None:
            raise InvalidToken()
        now = self.clock.now()
        new_hash = await self.hasher.hash(new_password)
        await self.users.save(user.with_password(new_hash, now).verified(now))
        # signed out everywhere: refresh tokens, access tokens and sockets of every session
        await self.revoked.revoke(await self.sessions.revoke_all(user_id))
        await self.limiter.reset(login_failures_key(user_id))
        self.events.record("password_reset", user_id=user_id)
