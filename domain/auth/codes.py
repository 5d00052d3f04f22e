"""Email codes (Flow 15): mailing one, and what a right one proves.

A code from the mailbox proves the address: `login` and `verify_email` codes open a session
(verifying the address if it was not yet), a `password_reset` code grants one reset. An
unverified account belongs to nobody: a `verify_email` code activates exactly the registration
it was mailed for, and a `login` code that verifies an account leaves no password on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.auth.errors import InvalidOtp
from domain.auth.limits import account, cooldown_key
from domain.auth.mail import code_email, signup_attempt_email
from domain.auth.mfa import SecondFactorGate
from domain.auth.model import (
    CodeLimits,
    CodeVerdict,
    Email,
    MfaChallenge,
    OtpPurpose,
    ResetGrant,
    TokenPair,
    User,
)
from domain.auth.policy import AuthPolicy
from domain.auth.secrets import Keyring
from domain.errors import ServiceUnavailable, TooManyRequests
from domain.mail.model import MailOutcome
from domain.mail.reputation import MailReputation
from ports.clock import Clock
from ports.events import EventLog
from ports.ids import IdGenerator
from ports.mail import Mailer
from ports.otp import OtpStore
from ports.rate_limit import RateLimiter
from ports.tasks import BackgroundTasks
from ports.users import UserRepository


@dataclass(kw_only=True, slots=True)
class CodeMailer:
    """Mails codes and notices in the background, at most one per address and kind per
    cooldown, so no answer waits for (or tells anything by) the mail."""

    users: UserRepository
    otp: OtpStore
    limiter: RateLimiter
    mailer: Mailer
    tasks: BackgroundTasks
    keys: Keyring
    events: EventLog
    policy: AuthPolicy
    reputation: MailReputation

    async def count_request(self, ip: str) -> None:
        """Every request that may mail counts against its client address's hour and the
        whole service's (whether or not it mails: an unknown address counts the same)."""
        policy = self.policy
        limits = [
            (f"rate:ip:{ip}:mail", policy.mail_requests_per_ip_per_hour),
            ("rate:mail", policy.mail_requests_per_hour),
        ]
        refused = await self.limiter.hit_each(limits, 3600)
        if refused is not None:
            raise TooManyRequests(refused.reset_in_s)

    async def request(self, email: str, purpose: OtpPurpose, ip: str) -> None:
        """Mail a code if the address has an account (and needs one); 429 inside the
        cooldown, for known and unknown addresses alike."""
        await self.count_request(ip)
        wait = await self._claim(email, purpose)
        if wait:
            raise TooManyRequests(wait, "A code was sent recently; wait before asking again.")
        self.tasks.spawn(self._mail_code_to(email, purpose), name=f"otp-{purpose}")

    async def after_signup(self, user: User, *, registered: bool) -> None:
        """A signup's mail, on the same cooldown key whatever the address (so a code request
        right after answers alike): a `registered` signup gets the code of its registration
        whatever the cooldown (the only code that verifies it); a signup of a verified
        address gets a notice, at most one per cooldown."""
        free = await self._claim(user.email, OtpPurpose.VERIFY_EMAIL) == 0
        if registered:
            self.tasks.spawn(self._mail_code(user, OtpPurpose.VERIFY_EMAIL), name="otp-signup")
        elif free:
            message = signup_attempt_email(user.email, user.name)
            self.tasks.spawn(self._send(message), name="mail-notice")

    async def _claim(self, email: str, purpose: str) -> int:
        key = cooldown_key(self.keys, email, purpose)
        return await self.limiter.claim(key, self.policy.otp_cooldown_s)

    async def _mail_code_to(self, email: str, purpose: OtpPurpose) -> None:
        user = await self.users.by_email(email)
        if user is None or (purpose is OtpPurpose.VERIFY_EMAIL and user.email_verified):
            return
        await self._mail_code(user, purpose)

    async def _mail_code(self, user: User, purpose: OtpPurpose) -> None:
        if await self._suppressed(user.email):
            return
        code, ttl = self.keys.new_code(), self.policy.otp_ttl_s
        code_hash = self.keys.code_hash(user.id, purpose, code, binding(user, purpose))
        await self.otp.put(user.id, purpose, code_hash, ttl)
        # A name chosen at signup is nobody's until the address is verified: not in the mail.
        name = user.name if user.email_verified else None
        await self._deliver(code_email(user.email, name, purpose, code, ttl // 60))
        self.events.record("otp_sent", user_id=user.id, purpose=purpose.value)

    async def _suppressed(self, email: str) -> bool:
        """An address SES reported a permanent bounce or a complaint for gets no mail again
        (SES suspends senders whose rates climb). Checked in the background task, after the
        answer: the caller is told the same as for any other address."""
        try:
            if not await self.reputation.is_suppressed(email):
                return False
        except ServiceUnavailable:
            # a code that never arrives locks its user out; one mail to a suppressed address
            # while MongoDB is away costs SES one bounce: the mail goes
            self.events.warn("mail_suppression_unchecked")
            return False
        await self._count(MailOutcome.SUPPRESSED)
        self.events.record("mail_suppressed")
        return True

    async def _send(self, message: Email) -> None:
        if not await self._suppressed(message.to):
            await self._deliver(message)

    async def _deliver(self, message: Email) -> None:
        await self.mailer.send(message)
        await self._count(MailOutcome.SENT)

    async def _count(self, outcome: MailOutcome) -> None:
        """The operator's counters are best effort: a lost count is no failed mail."""
        try:
            await self.reputation.counted(outcome)
        except ServiceUnavailable:
            self.events.warn("mail_count_lost", outcome=outcome.value)


@dataclass(kw_only=True, slots=True)
class EmailCodes:
    """Request a code, and spend one."""

    users: UserRepository
    otp: OtpStore
    code_mailer: CodeMailer
    gate: SecondFactorGate
    keys: Keyring
    clock: Clock
    ids: IdGenerator
    events: EventLog
    policy: AuthPolicy

    async def request_code(self, email: str, purpose: OtpPurpose, ip: str) -> None:
        """Mail a code if the address has an account (and needs one); answer the same either
        way. At most one code per address and purpose per cooldown."""
        await self.code_mailer.request(email, purpose, ip)

    async def verify_email(
        self, email: str, code: str, ip: str, client: str = ""
    ) -> TokenPair | MfaChallenge:
        pair = await self.verify_code(email, OtpPurpose.VERIFY_EMAIL, code, ip, client)
        assert not isinstance(pair, ResetGrant)
        return pair

    async def verify_code(
        self, email: str, purpose: OtpPurpose, code: str, ip: str, client: str = ""
    ) -> TokenPair | MfaChallenge | ResetGrant:
        """`ip`, the client's address: its wrong guesses lock it out of the account's codes
        sooner than they lock the account (`CodeLimits`); `client`, how the session it opens
        is described in the user's session list."""
        user = await self.users.by_email(email)
        await self._check_code(email, user, purpose, code, ip)
        if user is None:  # an unknown address got the same check and the same counters
            raise InvalidOtp()
        self.events.record("otp_verified", user_id=user.id, purpose=purpose.value)
        if purpose is OtpPurpose.PASSWORD_RESET:
            return await self._grant_reset(user)
        # A verify_email code activates the registration it was issued for (its password);
        # any other code proves the mailbox only, so a never-verified account keeps no
        # password (a stranger's signup may have set it).
        now = self.clock.now()
        verified = user.verified(now) if purpose is OtpPurpose.VERIFY_EMAIL else user.claimed(now)
        if verified is not user:
            await self.users.save(verified)
            self.events.record("email_verified", user_id=user.id)
        # a user with a second factor completes the sign-in with it (domain/auth/mfa.py)
        return await self.gate.open(verified, f"code:{purpose.value}", client)

    async def confirm(self, user: User, purpose: OtpPurpose, code: str, ip: str) -> None:
        """A signed-in user's code for an action (`InvalidOtp`, or 429 once locked), spent by
        its check; counted and locked exactly as a sign-in code is."""
        await self._check_code(user.email, user, purpose, code, ip)
        self.events.record("otp_verified", user_id=user.id, purpose=purpose.value)

    async def _check_code(
        self, email: str, user: User | None, purpose: OtpPurpose, code: str, ip: str
    ) -> None:
        """One atomic step per guess: evaluated and counted together, so a burst of guesses
        gets no more evaluations than the limits allow. An unknown address is checked under
        its keyed name, so it counts and locks as an account does (and has no code)."""
        policy = self.policy
        subject = user.id if user else unknown_subject(self.keys, email)
        bound = binding(user, purpose) if user else ""
        expected = self.keys.code_hash(subject, purpose, code, bound)
        limits = CodeLimits(
            policy.otp_max_attempts, policy.otp_wrong_per_hour, policy.otp_wrong_per_client_hour
        )
        check = await self.otp.attempt(subject, purpose, expected, client=ip, limits=limits)
        if check.verdict is CodeVerdict.LOCKED:
            self.events.warn(
                "otp_locked", **account(user), purpose=purpose.value, retry_in_s=check.retry_in_s
            )
            raise TooManyRequests(check.retry_in_s, "Too many wrong codes; try again later.")
        if check.verdict is CodeVerdict.WRONG:
            self.events.warn("otp_wrong", **account(user), purpose=purpose.value)
            raise InvalidOtp()

    async def _grant_reset(self, user: User) -> ResetGrant:
        ttl, grant_id = self.policy.reset_ttl_s, self.ids.new_id()
        await self.otp.grant_reset(user.id, grant_id, ttl)
        expires_at = int(self.clock.now().timestamp()) + ttl
        return ResetGrant(self.keys.reset_token(user.id, grant_id, expires_at), ttl)


def binding(user: User, purpose: OtpPurpose) -> str:
    """A `verify_email` code is bound to the registration it was mailed for: its password
    hash, which a later signup of the still unverified address replaces."""
    return user.password_hash if purpose is OtpPurpose.VERIFY_EMAIL else ""


def unknown_subject(keys: Keyring, email: str) -> str:
    """Who an unknown address's guesses count against (never a user id: those are hex)."""
    return "email-" + keys.email_key(email)
