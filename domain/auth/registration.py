"""Signup (Flow 2): an unverified user and a code to verify the address.

An unverified account belongs to nobody: each signup of the address is a registration that
replaces the one before (name and password), with a code bound to it.

No answer tells whether an email has an account: signup does the same work and gives the same
answer for known and unknown addresses, and mail goes out in the background.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.auth.codes import CodeMailer
from domain.auth.errors import EmailTaken
from domain.auth.limits import enforce
from domain.auth.model import User
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
        now = self.clock.now()
        # The same work for every address: one read, one write (an insert, or a replace that
        # holds only while unverified), one cooldown claim, one mail in the background.
        if existing is None:
            user = User(self.ids.new_id(), email, name, password_hash, False, now, now)
            try:
                await self.users.add(user)
            except EmailTaken:  # a concurrent signup won
                existing = await self.users.by_email(email)
            else:
                self.events.record("signup", user_id=user.id, outcome="created")
                await self.code_mailer.after_signup(user, registered=True)
                return
        if existing is None:
            return
        # Nobody owns an unverified account: this registration replaces the one before,
        # whose code stops verifying (codes are bound to their registration).
        registration = existing.registered_again(name, password_hash, now)
        if await self.users.replace_unverified(registration):
            self.events.record("signup", user_id=existing.id, outcome="not_yet_verified")
            await self.code_mailer.after_signup(registration, registered=True)
            return
        self.events.record("signup", user_id=existing.id, outcome="already_verified")
        await self.code_mailer.after_signup(existing, registered=False)
