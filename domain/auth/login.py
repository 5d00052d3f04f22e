"""Password login: the failure limit per account and per address, then a session.

A guess is counted before its password is checked, and an account has one check running at a
time (`RateLimiter.reserve`): a burst of concurrent guesses gets at most the limit evaluated,
and a success cannot start the count over while other guesses are in flight."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.auth.errors import EmailNotVerified, InvalidCredentials
from domain.auth.limits import account, enforce, guarded_guess, login_failures_key
from domain.auth.mfa import SecondFactorGate
from domain.auth.model import NO_PASSWORD, MfaChallenge, TokenPair
from domain.auth.policy import AuthPolicy
from domain.auth.secrets import Keyring
from ports.events import EventLog
from ports.rate_limit import RateLimiter
from ports.security import PasswordHasher
from ports.users import UserRepository


@dataclass(kw_only=True, slots=True)
class PasswordLogin:
    users: UserRepository
    hasher: PasswordHasher
    limiter: RateLimiter
    gate: SecondFactorGate
    keys: Keyring
    events: EventLog
    policy: AuthPolicy
    _dummy_hash: str | None = field(default=None, init=False)

    async def login(
        self, email: str, password: str, ip: str, client: str = ""
    ) -> TokenPair | MfaChallenge:
        """Tokens, or a challenge to complete with a second factor (domain/auth/mfa.py)."""
        policy, limiter = self.policy, self.limiter
        await enforce(limiter, f"rate:ip:{ip}:login", policy.login_attempts_per_ip_per_minute, 60)
        user = await self.users.by_email(email)
        key = login_failures_key(user.id if user else "email-" + self.keys.email_key(email))

        async def check() -> bool:
            # The same argon2 work for an unknown address and an account without a password.
            has_password = user is not None and user.password_hash != NO_PASSWORD
            stored = user.password_hash if user and has_password else await self._dummy()
            return await self.hasher.verify(stored, password) and has_password

        matches = await guarded_guess(
            limiter, policy=policy, events=self.events, key=key, user=user, check=check
        )
        if user is None or not matches:
            self.events.warn("login_failed", **account(user))
            raise InvalidCredentials()
        if not user.email_verified:
            raise EmailNotVerified()
        return await self.gate.open(user, "password", client)

    async def _dummy(self) -> str:
        """A hash to check unknown addresses against, so they cost the same work."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hasher.hash("not a real password, only for timing")
        return self._dummy_hash
