"""Auth and email codes (Flows 2 and 15): signup, verification, login, passwordless login,
password reset, rotating refresh tokens with reuse detection.

No answer tells whether an email has an account: signup and code requests do the same work and
give the same answer for known and unknown addresses, and mail goes out in the background.
"""

from __future__ import annotations

import json
import logging
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.auth.errors import (
    EmailNotVerified,
    EmailTaken,
    InvalidCredentials,
    InvalidOtp,
    InvalidToken,
    TokenReused,
)
from domain.auth.mail import code_email, signup_attempt_email
from domain.auth.model import (
    Email,
    OtpPurpose,
    RateWindow,
    ResetGrant,
    SessionFamily,
    TokenPair,
    User,
    UserProfile,
)
from domain.auth.secrets import Keyring
from domain.errors import NotFound, ServiceUnavailable, TooManyRequests, Unauthorized
from ports.cache import Cache
from ports.clock import Clock
from ports.events import EventLog
from ports.ids import IdGenerator
from ports.mail import Mailer
from ports.otp import OtpStore
from ports.rate_limit import RateLimiter
from ports.security import AccessTokenCodec, PasswordHasher
from ports.sessions import SessionRepository
from ports.tasks import BackgroundTasks
from ports.users import UserRepository

log = logging.getLogger("flowhub.auth")


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    refresh_ttl_s: int = 30 * 24 * 3600
    refresh_grace_s: int = 10
    otp_ttl_s: int = 300
    otp_max_attempts: int = 5
    otp_failures_per_hour: int = 10
    otp_cooldown_s: int = 60
    login_failures_per_minute: int = 5
    login_attempts_per_ip_per_minute: int = 30
    signups_per_ip_per_hour: int = 20
    reset_ttl_s: int = 300
    user_cache_ttl_s: int = 300
    api_requests_per_minute: int = 120


@dataclass(frozen=True, slots=True)
class AuthPorts:
    users: UserRepository
    sessions: SessionRepository
    otp: OtpStore
    limiter: RateLimiter
    cache: Cache
    mailer: Mailer
    hasher: PasswordHasher
    tokens: AccessTokenCodec
    tasks: BackgroundTasks
    clock: Clock
    ids: IdGenerator
    events: EventLog


class AuthService:
    def __init__(
        self, ports: AuthPorts, keyring: Keyring, policy: AuthPolicy | None = None
    ) -> None:
        self._p = ports
        self._keys = keyring
        self._policy = policy or AuthPolicy()
        self._dummy_hash: str | None = None

    # signup and verification ----------------------------------------------------------

    async def signup(self, email: str, password: str, name: str, ip: str) -> None:
        """Register an unverified user and mail a code; an address that already has an account
        gets a notice instead. Same answer, same work, either way."""
        p = self._p
        await self._limit(f"rate:ip:{ip}:signup", self._policy.signups_per_ip_per_hour, 3600)
        existing = await p.users.by_email(email)
        password_hash = await p.hasher.hash(password)  # on both paths: no timing difference
        if existing is None:
            now = p.clock.now()
            user = User(p.ids.new_id(), email, name, password_hash, False, now, now)
            try:
                await p.users.add(user)
            except EmailTaken:  # a concurrent signup won
                existing = await p.users.by_email(email)
            else:
                p.events.record("signup", user_id=user.id, outcome="created")
                await self._mail_code_if_free(user, OtpPurpose.VERIFY_EMAIL)
                return
        if existing is None:
            return
        outcome = "already_verified" if existing.email_verified else "not_yet_verified"
        p.events.record("signup", user_id=existing.id, outcome=outcome)
        if existing.email_verified:
            if await self._cooldown_free(email, "signup_notice"):
                self._send_later(signup_attempt_email(existing.email, existing.name), "notice")
        else:
            await self._mail_code_if_free(existing, OtpPurpose.VERIFY_EMAIL)

    async def verify_email(self, email: str, code: str) -> TokenPair:
        pair = await self.verify_code(email, OtpPurpose.VERIFY_EMAIL, code)
        assert isinstance(pair, TokenPair)
        return pair

    # login --------------------------------------------------------------------------------

    async def login(self, email: str, password: str, ip: str) -> TokenPair:
        p, policy = self._p, self._policy
        await self._limit(f"rate:ip:{ip}:login", policy.login_attempts_per_ip_per_minute, 60)
        user = await p.users.by_email(email)
        key = f"rate:{user.id if user else 'email-' + self._keys.email_key(email)}:login"
        window = await p.limiter.peek(key, policy.login_failures_per_minute)
        if window.count >= policy.login_failures_per_minute:
            raise TooManyRequests(window.reset_in_s, "Too many failed logins; try again later.")
        matches = await p.hasher.verify(
            user.password_hash if user else await self._dummy(), password
        )
        if user is None or not matches:
            await p.limiter.hit(key, policy.login_failures_per_minute, 60)
            raise InvalidCredentials()
        if not user.email_verified:
            raise EmailNotVerified()
        if window.count:
            await p.limiter.reset(key)
        return await self._open_session(user, "password")

    # email codes --------------------------------------------------------------------------

    async def request_code(self, email: str, purpose: OtpPurpose) -> None:
        """Mail a code if the address has an account (and needs one); answer the same either
        way. At most one code per address and purpose per cooldown."""
        wait = await self._p.limiter.claim(
            self._cooldown_key(email, purpose), self._policy.otp_cooldown_s
        )
        if wait:
            raise TooManyRequests(wait, "A code was sent recently; wait before asking again.")
        self._p.tasks.spawn(self._mail_code_to(email, purpose), name=f"otp-{purpose}")

    async def verify_code(
        self, email: str, purpose: OtpPurpose, code: str
    ) -> TokenPair | ResetGrant:
        p = self._p
        user = await p.users.by_email(email)
        if user is None:
            raise InvalidOtp()
        await self._check_code(user, purpose, code)
        p.events.record("otp_verified", user_id=user.id, purpose=purpose.value)
        if purpose is OtpPurpose.PASSWORD_RESET:
            return await self._grant_reset(user)
        # A code from the mailbox proves the address: verify it if it was not yet.
        verified = user.verified(p.clock.now())
        if verified is not user:
            await p.users.save(verified)
            await self._forget(user.id)
            p.events.record("email_verified", user_id=user.id)
        return await self._open_session(verified, f"code:{purpose.value}")

    async def reset_password(self, reset_token: str, new_password: str) -> None:
        p = self._p
        opened = self._keys.open_reset_token(reset_token)
        if opened is None:
            raise InvalidToken()
        user_id, grant_id, expires_at = opened
        if expires_at < p.clock.now().timestamp() or not await p.otp.take_reset(user_id, grant_id):
            raise InvalidToken()
        user = await p.users.get(user_id)
        if user is None:
            raise InvalidToken()
        now = p.clock.now()
        await p.users.save(user.with_password(await p.hasher.hash(new_password), now).verified(now))
        await self._forget(user_id)
        await p.sessions.revoke_all(user_id)
        await p.limiter.reset(f"rate:{user_id}:login")
        p.events.record("password_reset", user_id=user_id)

    # sessions -----------------------------------------------------------------------------

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Spend the token for a new pair. A spent token presented again revokes its whole
        family, except within the grace window right after it was spent, when it gets the
        family's current refresh token (two tabs refreshing at once stay signed in)."""
        p, keys = self._p, self._keys
        parsed = keys.parse_refresh_token(refresh_token)
        family = await p.sessions.get(parsed[0]) if parsed else None
        if (
            parsed is None
            or family is None
            or not keys.authentic_refresh(refresh_token, family.salt)
        ):
            raise Unauthorized("The refresh token is not valid.")
        family_id, generation = parsed
        now = p.clock.now()
        if generation == family.generation:
            new_token = keys.refresh_token(family_id, generation + 1, family.salt)
            expires_at = now + timedelta(seconds=self._policy.refresh_ttl_s)
            if await p.sessions.advance(
                family_id, generation, keys.token_hash(new_token), now, expires_at
            ):
                return await self._pair(family.user_id, family_id, new_token)
            family = await p.sessions.get(family_id)  # a concurrent refresh won the race
            if family is None:
                raise Unauthorized("The refresh token is not valid.")
        in_grace = now - family.rotated_at <= timedelta(seconds=self._policy.refresh_grace_s)
        if generation == family.generation - 1 and in_grace:
            current = keys.refresh_token(family_id, family.generation, family.salt)
            return await self._pair(family.user_id, family_id, current)
        await p.sessions.revoke(family_id)
        p.events.warn("token_reused", user_id=family.user_id, session_id=family_id)
        raise TokenReused()

    async def logout(self, user_id: str, refresh_token: str) -> None:
        """Revoke the session of `refresh_token` if it is the caller's; quietly otherwise."""
        parsed = self._keys.parse_refresh_token(refresh_token)
        family = await self._p.sessions.get(parsed[0]) if parsed else None
        if family is not None and family.user_id == user_id:
            await self._p.sessions.revoke(family.id)
            self._p.events.record("logout", user_id=user_id, session_id=family.id)

    async def logout_all(self, user_id: str) -> None:
        await self._p.sessions.revoke_all(user_id)
        self._p.events.record("logout_all", user_id=user_id)

    # the signed-in user -------------------------------------------------------------------

    async def me(self, user_id: str) -> UserProfile:
        p = self._p
        try:
            cached = await p.cache.get(_cache_key(user_id))
        except ServiceUnavailable:
            cached = None  # the cache is only a shortcut: read through while it is away
        if cached is not None:
            return _profile_from_json(cached)
        user = await p.users.get(user_id)
        if user is None:
            raise NotFound("The user no longer exists.")
        profile = user.profile()
        with suppress(ServiceUnavailable):
            await p.cache.set(
                _cache_key(user_id), _profile_to_json(profile), self._policy.user_cache_ttl_s
            )
        return profile

    async def rename(self, user_id: str, name: str) -> UserProfile:
        p = self._p
        user = await p.users.get(user_id)
        if user is None:
            raise NotFound("The user no longer exists.")
        renamed = user.renamed(name, p.clock.now())
        await p.users.save(renamed)
        await self._forget(user_id)
        return renamed.profile()

    async def count_api_request(self, user_id: str) -> RateWindow:
        """One authenticated request against the user's per-minute quota."""
        return await self._p.limiter.hit(
            f"rate:{user_id}:api", self._policy.api_requests_per_minute, 60
        )

    # internals ----------------------------------------------------------------------------

    async def _limit(self, key: str, limit: int, window_s: int) -> None:
        window = await self._p.limiter.hit(key, limit, window_s)
        if window.exceeded:
            raise TooManyRequests(window.reset_in_s)

    async def _check_code(self, user: User, purpose: OtpPurpose, code: str) -> None:
        p, policy = self._p, self._policy
        failures_key = f"rate:{user.id}:otp_failures"
        failures = await p.limiter.peek(failures_key, policy.otp_failures_per_hour)
        if failures.count >= policy.otp_failures_per_hour:
            raise TooManyRequests(failures.reset_in_s, "Too many wrong codes; try again later.")
        expected = self._keys.code_hash(user.id, purpose, code)
        if await p.otp.consume(user.id, expected):
            return
        await p.otp.fail(user.id, policy.otp_max_attempts)
        await p.limiter.hit(failures_key, policy.otp_failures_per_hour, 3600)
        raise InvalidOtp()

    async def _grant_reset(self, user: User) -> ResetGrant:
        p, ttl = self._p, self._policy.reset_ttl_s
        grant_id = p.ids.new_id()
        await p.otp.grant_reset(user.id, grant_id, ttl)
        expires_at = int(p.clock.now().timestamp()) + ttl
        return ResetGrant(self._keys.reset_token(user.id, grant_id, expires_at), ttl)

    async def _open_session(self, user: User, method: str) -> TokenPair:
        """A new session family (a login); `method` says how the user proved who they are:
        `password`, or `code:<purpose>` for an email code."""
        p, keys = self._p, self._keys
        now = p.clock.now()
        family_id, salt = p.ids.new_id(), keys.new_salt()
        token = keys.refresh_token(family_id, 0, salt)
        await p.sessions.add(
            SessionFamily(
                id=family_id,
                user_id=user.id,
                salt=salt,
                generation=0,
                current_hash=keys.token_hash(token),
                previous_hash=None,
                created_at=now,
                rotated_at=now,
                expires_at=now + timedelta(seconds=self._policy.refresh_ttl_s),
            )
        )
        p.events.record("login", user_id=user.id, session_id=family_id, method=method)
        return self._issue(user.profile(), family_id, token, now)

    async def _pair(self, user_id: str, family_id: str, refresh_token: str) -> TokenPair:
        user = await self._p.users.get(user_id)
        if user is None:
            await self._p.sessions.revoke(family_id)
            raise Unauthorized("The refresh token is not valid.")
        return self._issue(user.profile(), family_id, refresh_token, self._p.clock.now())

    def _issue(self, user: UserProfile, family_id: str, refresh: str, now: datetime) -> TokenPair:
        access = self._p.tokens.issue(user.id, family_id, now)
        return TokenPair(access.token, refresh, access.expires_in, user)

    def _cooldown_key(self, email: str, purpose: str) -> str:
        return f"rate:email-{self._keys.email_key(email)}:otp:{purpose}"

    async def _cooldown_free(self, email: str, purpose: str) -> bool:
        return (
            await self._p.limiter.claim(
                self._cooldown_key(email, purpose), self._policy.otp_cooldown_s
            )
            == 0
        )

    async def _mail_code_if_free(self, user: User, purpose: OtpPurpose) -> None:
        if await self._cooldown_free(user.email, purpose):
            self._p.tasks.spawn(self._mail_code(user, purpose), name=f"otp-{purpose}")

    async def _mail_code_to(self, email: str, purpose: OtpPurpose) -> None:
        user = await self._p.users.by_email(email)
        if user is None or (purpose is OtpPurpose.VERIFY_EMAIL and user.email_verified):
            return
        await self._mail_code(user, purpose)

    async def _mail_code(self, user: User, purpose: OtpPurpose) -> None:
        code = self._keys.new_code()
        ttl = self._policy.otp_ttl_s
        await self._p.otp.put(user.id, purpose, self._keys.code_hash(user.id, purpose, code), ttl)
        await self._p.mailer.send(code_email(user.email, user.name, purpose, code, ttl // 60))
        self._p.events.record("otp_sent", user_id=user.id, purpose=purpose.value)

    def _send_later(self, message: Email, kind: str) -> None:
        self._p.tasks.spawn(self._p.mailer.send(message), name=f"mail-{kind}")

    async def _forget(self, user_id: str) -> None:
        try:
            await self._p.cache.delete(_cache_key(user_id))
        except ServiceUnavailable:
            # The cached copy is unreachable too; it may be served stale for at most its TTL
            # once the cache is back.
            log.warning("could not invalidate the cached user %s", user_id)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self._p.hasher.hash("not a real password, only for timing")
        return self._dummy_hash


def _cache_key(user_id: str) -> str:
    return f"cache:user:{user_id}"


def _profile_to_json(profile: UserProfile) -> bytes:
    return json.dumps(
        {
            "id": profile.id,
            "email": profile.email,
            "name": profile.name,
            "email_verified": profile.email_verified,
            "created_at": profile.created_at.isoformat(),
        }
    ).encode()


def _profile_from_json(raw: bytes) -> UserProfile:
    data = json.loads(raw)
    return UserProfile(
        data["id"],
        data["email"],
        data["name"],
        data["email_verified"],
        datetime.fromisoformat(data["created_at"]),
    )
