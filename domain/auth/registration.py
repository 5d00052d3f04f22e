"""Signup (Flow 2): an unverified user and a code to verify the address.

No answer tells whether an email has an account: signup does the same work and gives the same
answer for known and unknown addresses, and mail goes out in the background.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.auth.codes import CodeMailer
from domain.auth.errors import EmailTaken
from domain.auth.limits import enforce
from domain.auth.model import OtpPurpose, User
from domain.auth.policy import AuthPolicy
from ports.clock import Clock
from ports.events import EventLog
from ports.ids import IdGenerator
from ports.rate_limit import RateLimiter
from ports.security import PasswordHasher
from ports.users import UserRepository


@dataclass(kw_only=True, slots=True)
class Registration:
    users: UserRepository
    hasher: PasswordHasher
    limiter: RateLimiter
    code_mailer: CodeMailer
    clock: Clock
    ids: IdGenerator
    events: EventLog
    policy: AuthPolicy

    async def signup(self, email: str, password: str, name: str, ip: str) -> None:
        """Register an unverified user and mail a code; an address that already has an account
        gets a notice instead. Same answer, same work, either way."""
        await enforce(
            self.limiter, f"rate:ip:{ip}:signup", self.policy.signups_per_ip_per_hour, 3600
        )
        existing = await self.users.by_email(email)
        password_hash = await self.hasher.hash(password)  # on both paths: no timing difference
        if existing is None:
            now = self.clock.now()
            user = User(self.ids.new_id(), email, name, password_hash, False, now, now)
            try:
                await self.users.add(user)
            except EmailTaken:  # a concurrent signup won
                existing = await self.users.by_email(email)
            else:
                self.events.record("signup", user_id=user.id, outcome="created")
                await self.code_mailer.code_if_free(user, OtpPurpose.VERIFY_EMAIL)
                return
        if existing is None:
            return
        outcome = "already_verified" if existing.email_verified else "not_yet_verified"
        self.events.record("signup", user_id=existing.id, outcome=outcome)
        if existing.email_verified:
            await self.code_mailer.signup_notice_if_free(existing)
        else:
            await self.code_mailer.code_if_free(existing, OtpPurpose.VERIFY_EMAIL)
