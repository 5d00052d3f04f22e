"""Account deletion: a fresh password check, then everything of the account goes.

In this order: every session (refresh and access tokens refused on every instance, sockets
disconnected), the rooms (each hears `room:member_left`), invitations, messages (tombstones:
body gone, seq kept) and read marks, every file with its objects, thumbnails and public
copies, what Redis holds for the account (codes, the reset grant, counters and cooldowns),
and last the user record. So a run interrupted half-way (a store unreachable) leaves an
account that still signs in with its password, and deleting it again finishes the work."""

from __future__ import annotations

from dataclasses import dataclass

from domain.auth.errors import InvalidCredentials, PasswordNotSet
from domain.auth.limits import cooldown_key, guarded_guess, login_failures_key
from domain.auth.model import NO_PASSWORD, OtpPurpose, User
from domain.auth.policy import AuthPolicy
from domain.auth.secrets import Keyring
from domain.auth.sessions import Sessions
from domain.chat.service import ChatService
from domain.errors import Unauthorized
from domain.files.service import FileService
from ports.events import EventLog
from ports.otp import OtpStore
from ports.rate_limit import RateLimiter
from ports.security import PasswordHasher
from ports.users import UserRepository


@dataclass(kw_only=True, slots=True)
class AccountDeletion:
    users: UserRepository
    hasher: PasswordHasher
    limiter: RateLimiter
    otp: OtpStore
    sessions: Sessions
    chat: ChatService
    files: FileService
    keys: Keyring
    events: EventLog
    policy: AuthPolicy

    async def delete(self, user_id: str, password: str) -> None:
        """`InvalidCredentials` for a wrong password (counted like a failed login: the sixth
        guess in a minute is 429), `PasswordNotSet` for an account that signs in with codes
        only (set a password with a reset first)."""
        user = await self.users.get(user_id)
        if user is None:
            raise Unauthorized()
        if user.password_hash == NO_PASSWORD:
            raise PasswordNotSet()

        async def check() -> bool:
            return await self.hasher.verify(user.password_hash, password)

        key = login_failures_key(user.id)
        if not await guarded_guess(
            self.limiter, policy=self.policy, events=self.events, key=key, user=user, check=check
        ):
            self.events.warn("account_deletion_refused", user_id=user.id)
            raise InvalidCredentials("The password is not correct.")
        await self.erase(user)

    async def erase(self, user: User) -> None:
        """Everything of the account goes, with no check: the caller decided (the owner's
        fresh password above, or an administrator)."""
        key = login_failures_key(user.id)
        await self.sessions.logout_all(user.id)
        tombstoned = await self.chat.forget_user(user.id)
        files = await self.files.delete_all(user.id)
        await self.otp.forget(user.id)
        email_key = "email-" + self.keys.email_key(user.email)
        for counter in (key, login_failures_key(email_key)):
            await self.limiter.forget(counter)
        for purpose in OtpPurpose:
            await self.limiter.forget(cooldown_key(self.keys, user.email, purpose))
        await self.users.delete(user.id)
        self.events.record("account_deleted", user_id=user.id, files=files, messages=tombstoned)
