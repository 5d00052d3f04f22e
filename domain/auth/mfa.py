"""The optional second factor: TOTP with one-time recovery codes.

A login whose user has a factor enabled answers a challenge instead of tokens
(`SecondFactorGate`); the client completes it with a code (`SecondFactorLogin`). The challenge
is a signed token (no server state): bound to the user and the first factor's method, valid
for `mfa_challenge_ttl_s`, spent by its completion (the factor remembers the issue time of the
last challenge completed). Every guess is evaluated here, then honoured or refused by
`OtpStore.judge` in one atomic step under hourly counts like email codes', so concurrent
guesses get no more answers than the limits allow. A TOTP step is spent once: a code is
refused again in its window."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from domain.auth.errors import (
    InvalidCredentials,
    InvalidMfaChallenge,
    InvalidOtp,
    MfaAlreadyEnabled,
    MfaNotEnabled,
    PasswordNotSet,
)
from domain.auth.limits import guarded_guess, login_failures_key
from domain.auth.model import (
    NO_PASSWORD,
    CodeLimits,
    CodeVerdict,
    MfaChallenge,
    SecondFactor,
    SecondFactorStatus,
    TokenPair,
    TotpEnrolment,
    User,
)
from domain.auth.policy import AuthPolicy
from domain.auth.secrets import Keyring
from domain.auth.sessions import SessionIssuer
from domain.errors import TooManyRequests, Unauthorized
from ports.clock import Clock
from ports.events import EventLog
from ports.otp import OtpStore
from ports.rate_limit import RateLimiter
from ports.second_factor import SecondFactorStore, TotpCodec
from ports.security import PasswordHasher
from ports.users import UserRepository

ISSUER = "FlowHub"  # the name an authenticator app shows next to the account
DRIFT_STEPS = 1  # a code of the step before or after now is accepted too (clock drift)


class Proof(StrEnum):
    TOTP = "totp"
    RECOVERY = "recovery"
    PASSKEY = "passkey"


class PasskeyProof(Protocol):
    """A passkey answering a login's challenge in place of a code (domain/auth/passkeys.py)."""

    async def prove(
        self, user_id: str, mfa_challenge: str, credential: dict[str, object]
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Guess:
    """A code the caller's factor accepts (before it is spent): its TOTP step, or the hash of
    one of its recovery codes."""

    proof: Proof
    step: int = -1
    recovery_hash: str = ""


@dataclass(kw_only=True, slots=True)
class SecondFactorCheck:
    """Evaluating a code against a factor, counted like email codes, and spending it."""

    factors: SecondFactorStore
    otp: OtpStore
    totp: TotpCodec
    keys: Keyring
    clock: Clock
    events: EventLog
    policy: AuthPolicy

    async def prove(self, factor: SecondFactor, code: str, ip: str, *, issued_ms: int = 0) -> Guess:
        """Spend `code` (a TOTP code, or a recovery code when the factor is enabled), and the
        challenge issued at `issued_ms` with it: `InvalidOtp` for a wrong, reused or spent
        one, 429 once the hour's wrong guesses reach the limits (no guess is honoured then)."""
        guess = self._evaluate(factor, code)
        policy = self.policy
        limits = CodeLimits(
            policy.otp_max_attempts, policy.otp_wrong_per_hour, policy.otp_wrong_per_client_hour
        )
        check = await self.otp.judge(
            factor.user_id, correct=guess is not None, client=ip, limits=limits
        )
        if check.verdict is CodeVerdict.LOCKED:
            self.events.warn("mfa_locked", user_id=factor.user_id, retry_in_s=check.retry_in_s)
            raise TooManyRequests(check.retry_in_s, "Too many wrong codes; try again later.")
        if guess is None:
            self.events.warn("mfa_wrong", user_id=factor.user_id)
            raise InvalidOtp()
        if not factor.enabled:  # confirming an enrolment: the caller enables it
            return guess
        if guess.proof is Proof.TOTP:
            spent = await self.factors.spend_step(factor.user_id, guess.step, issued_ms)
        else:
            spent = await self.factors.spend_recovery(
                factor.user_id, guess.recovery_hash, issued_ms
            )
        if not spent:  # a concurrent request spent the same step, code or challenge
            self.events.warn("mfa_replayed", user_id=factor.user_id)
            raise InvalidOtp()
        return guess

    def _evaluate(self, factor: SecondFactor, code: str) -> Guess | None:
        code = code.strip()
        if code.isdigit():
            now = self.totp.step(self.clock.now())
            for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
                expected = self.totp.code(factor.secret, step)
                if step > factor.last_step and hmac.compare_digest(expected, code):
                    return Guess(Proof.TOTP, step=step)
            return None
        if not factor.enabled:
            return None
        wanted = self.keys.recovery_hash(factor.user_id, code)
        if any(hmac.compare_digest(wanted, h) for h in factor.recovery_hashes):
            return Guess(Proof.RECOVERY, recovery_hash=wanted)
        return None


@dataclass(kw_only=True, slots=True)
class SecondFactorGate:
    """Where the login use cases end: tokens, or a challenge when a factor is enabled."""

    factors: SecondFactorStore
    issuer: SessionIssuer
    keys: Keyring
    clock: Clock
    events: EventLog
    policy: AuthPolicy

    async def open(self, user: User, method: str, client: str = "") -> TokenPair | MfaChallenge:
        factor = await self.factors.get(user.id)
        if factor is None or not factor.enabled:
            return await self.issuer.open(user, method, client)
        issued_ms = int(self.clock.now().timestamp() * 1000)
        self.events.record("mfa_challenged", user_id=user.id, method=method)
        challenge = self.keys.mfa_challenge(user.id, method, issued_ms)
        return MfaChallenge(challenge, self.policy.mfa_challenge_ttl_s)


@dataclass(kw_only=True, slots=True)
class SecondFactorLogin:
    """`POST /auth/mfa`: a challenge and a code for the tokens the login would have given."""

    users: UserRepository
    factors: SecondFactorStore
    check: SecondFactorCheck
    issuer: SessionIssuer
    keys: Keyring
    clock: Clock
    policy: AuthPolicy

    passkeys: PasskeyProof | None = None

    async def complete(self, challenge: str, code: str, ip: str, client: str = "") -> TokenPair:
        user, factor, method, issued_ms = await self._opened(challenge)
        guess = await self.check.prove(factor, code, ip, issued_ms=issued_ms)
        return await self.issuer.open(user, f"{method}+{guess.proof.value}", client)

    async def complete_with_passkey(
        self, challenge: str, credential: dict[str, object], client: str = ""
    ) -> TokenPair:
        """The same challenge answered by one of the user's passkeys (its options from
        `POST /auth/passkeys/login/options {mfa_challenge}`); spent as a code spends it."""
        user, _, method, issued_ms = await self._opened(challenge)
        if self.passkeys is None:
            raise InvalidMfaChallenge()
        await self.passkeys.prove(user.id, challenge, credential)
        if not await self.factors.spend_challenge(user.id, issued_ms):
            raise InvalidMfaChallenge()  # a concurrent completion spent it
        return await self.issuer.open(user, f"{method}+{Proof.PASSKEY.value}", client)

    async def _opened(self, challenge: str) -> tuple[User, SecondFactor, str, int]:
        opened = self.keys.open_mfa_challenge(challenge)
        if opened is None:
            raise InvalidMfaChallenge()
        user_id, method, issued_ms = opened
        now_ms = int(self.clock.now().timestamp() * 1000)
        if now_ms - issued_ms > self.policy.mfa_challenge_ttl_s * 1000:
            raise InvalidMfaChallenge()
        factor = await self.factors.get(user_id)
        user = await self.users.get(user_id)
        if user is None or factor is None or not factor.enabled:
            raise InvalidMfaChallenge()
        if issued_ms <= factor.spent_before_ms:
            raise InvalidMfaChallenge()
        return user, factor, method, issued_ms


@dataclass(kw_only=True, slots=True)
class SecondFactorSettings:
    """A signed-in user's factor: enrol (start, confirm), regenerate recovery codes, disable."""

    users: UserRepository
    factors: SecondFactorStore
    check: SecondFactorCheck
    totp: TotpCodec
    hasher: PasswordHasher
    limiter: RateLimiter
    keys: Keyring
    events: EventLog
    policy: AuthPolicy

    async def status(self, user_id: str) -> SecondFactorStatus:
        factor = await self.factors.get(user_id)
        if factor is None:
            return SecondFactorStatus(enabled=False, pending=False, recovery_codes_left=0)
        left = len(factor.recovery_hashes)
        return SecondFactorStatus(factor.enabled, not factor.enabled, left)

    async def start(self, user_id: str) -> TotpEnrolment:
        """A fresh secret, pending until `confirm`; replaces a pending one."""
        user = await self._user(user_id)
        secret = self.totp.new_secret()
        if not await self.factors.begin(SecondFactor(user.id, secret, enabled=False)):
            raise MfaAlreadyEnabled()
        self.events.record("mfa_enrolment_started", user_id=user.id)
        return TotpEnrolment(secret, self.totp.uri(secret, user.email, ISSUER))

    async def confirm(self, user_id: str, code: str, ip: str) -> list[str]:
        """Enable the pending factor with a current code from it: its recovery codes, shown
        this once (only their hashes are kept)."""
        factor = await self.factors.get(user_id)
        if factor is None:
            raise MfaNotEnabled("Start an enrolment first.")
        if factor.enabled:
            raise MfaAlreadyEnabled()
        guess = await self.check.prove(factor, code, ip)
        codes, hashes = self._recovery(user_id)
        # the confirming code is spent: it cannot sign in afterwards
        if not await self.factors.enable(user_id, factor.secret, hashes, guess.step):
            raise MfaNotEnabled("The enrolment changed meanwhile; start it again.")
        self.events.record("mfa_enabled", user_id=user_id)
        return codes

    async def regenerate(
        self, user_id: str, ip: str, *, code: str | None, password: str | None
    ) -> list[str]:
        """New recovery codes (the old ones stop working), proven by a fresh code or the
        password."""
        factor = await self._enabled(user_id)
        await self._prove(factor, ip, code=code, password=password)
        codes, hashes = self._recovery(user_id)
        if not await self.factors.replace_recovery(user_id, hashes):
            raise MfaNotEnabled()
        self.events.record("mfa_recovery_regenerated", user_id=user_id)
        return codes

    async def disable(
        self, user_id: str, ip: str, *, code: str | None, password: str | None
    ) -> None:
        factor = await self._enabled(user_id)
        await self._prove(factor, ip, code=code, password=password)
        await self.factors.delete(user_id)
        self.events.record("mfa_disabled", user_id=user_id)

    async def _prove(
        self, factor: SecondFactor, ip: str, *, code: str | None, password: str | None
    ) -> None:
        if code is not None:
            await self.check.prove(factor, code, ip)
            return
        user = await self._user(factor.user_id)
        if password is None:
            raise InvalidCredentials("Give a current code or the password.")
        if user.password_hash == NO_PASSWORD:
            raise PasswordNotSet()

        async def matches() -> bool:
            return await self.hasher.verify(user.password_hash, password)

        key = login_failures_key(user.id)
        if not await guarded_guess(
            self.limiter, policy=self.policy, events=self.events, key=key, user=user, check=matches
        ):
            raise InvalidCredentials("The password is not correct.")

    def _recovery(self, user_id: str) -> tuple[list[str], tuple[str, ...]]:
        codes = [self.keys.new_recovery_code() for _ in range(self.policy.recovery_codes)]
        return codes, tuple(self.keys.recovery_hash(user_id, c) for c in codes)

    async def _enabled(self, user_id: str) -> SecondFactor:
        factor = await self.factors.get(user_id)
        if factor is None or not factor.enabled:
            raise MfaNotEnabled()
        return factor

    async def _user(self, user_id: str) -> User:
        user = await self.users.get(user_id)
        if user is None:
            raise Unauthorized()
        return user
