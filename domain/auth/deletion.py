"""Account deletion: a fresh check (the password, a code mailed to the address for it, or a
passkey of the account answering a challenge made for deleting it only, with user
verification), then everything of the account goes.

In this order: the passkeys, every session (refresh and access tokens refused on every
instance, sockets disconnected), the rooms (each hears `room:member_left`), invitations,
messages (tombstones: body gone, seq kept) and read marks, every file with its objects,
thumbnails and public copies, what Redis holds for the account (codes, the reset grant,
counters and cooldowns), and last the user record. So a run interrupted half-way (a store
unreachable) leaves an account that still signs in with its password, and deleting it again
finishes the work."""

from __future__ import annotations

from dataclasses import dataclass

from domain.auth.codes import CodeMailer, EmailCodes
from domain.auth.errors import InvalidCredentials, InvalidPasskey, PasswordNotSet
from domain.auth.limits import cooldown_key, guarded_guess, login_failures_key
from domain.auth.model import NO_PASSWORD, OtpPurpose, User
from domain.auth.passkey import Ceremony, CeremonyOptions
from domain.auth.passkeys import CHALLENGE_TTL_S, PasskeyChallenges
from domain.auth.policy import AuthPolicy
from domain.auth.secrets import Keyring
from domain.auth.sessions import Sessions
from domain.chat.service import ChatService
from domain.errors import Unauthorized
from domain.files.service import FileService
from ports.events import EventLog
from ports.federation import IdentityStore
from ports.otp import OtpStore
from ports.passkeys import PasskeyStore
from ports.rate_limit import RateLimiter
from ports.second_factor import SecondFactorStore
from ports.security import PasswordHasher
from ports.users import UserRepository


@dataclass(kw_only=True, slots=True)
class AccountDeletion:
    users: UserRepository
    hasher: PasswordHasher
    limiter: RateLimiter
    otp: OtpStore
    factors: SecondFactorStore
    identities: IdentityStore
    sessions: Sessions
    chat: ChatService
    files: FileService
    keys: Keyring
    events: EventLog
    policy: AuthPolicy
    codes: EmailCodes
    code_mailer: CodeMailer
    passkeys: PasskeyStore | None = None
    passkey_challenges: PasskeyChallenges | None = None

    async def passkey_options(self, user_id: str) -> CeremonyOptions:
        """Options for `navigator.credentials.get()` that confirm deleting the account: the
        user's passkeys listed, user verification required, a challenge of the
        `delete_account` ceremony bound to the user (no sign-in or second-factor answer
        confirms a deletion, and this one signs nobody in). `InvalidPasskey` without one."""
        user = await self._user(user_id)
        if self.passkeys is None or self.passkey_challenges is None:
            raise InvalidPasskey("Passkeys are not enabled here.")
        allow = await self.passkeys.for_user(user.id)
        if not allow:
            raise InvalidPasskey(
                "This account has no passkey; confirm with the password or a code."
            )
        challenges = self.passkey_challenges
        options = challenges.verifier.authentication_options(
            challenges.rp,
            challenge=challenges.issue(Ceremony.DELETE_ACCOUNT, user.id),
            allow=allow,
            timeout_ms=CHALLENGE_TTL_S * 1000,
            require_user_verification=True,
        )
        return CeremonyOptions(options, CHALLENGE_TTL_S)

    async def delete_with_passkey(self, user_id: str, credential: dict[str, object]) -> None:
        """`InvalidPasskey` for an answer to any other challenge (a sign-in's, another user's),
        another user's passkey, one without user verification, or one spent already; the
        answer is spent by the same conditional counter update as a sign-in's."""
        user = await self._user(user_id)
        if self.passkey_challenges is None:
            raise InvalidPasskey("Passkeys are not enabled here.")
        try:
            await self.passkey_challenges.asserted(
                credential, Ceremony.DELETE_ACCOUNT, user.id, owner=user.id, user_verified=True
            )
        except InvalidPasskey:
            self.events.warn("account_deletion_refused", user_id=user.id, method="passkey")
            raise
        await self.erase(user)

    async def request_code(self, user_id: str, ip: str) -> None:
        """Mail the signed-in user a `delete_account` code (for an account that signs in with
        codes only, or a user who prefers it); 429 inside the cooldown, like every code."""
        user = await self._user(user_id)
        await self.code_mailer.request(user.email, OtpPurpose.DELETE_ACCOUNT, ip)

    async def delete_with_code(self, user_id: str, code: str, ip: str) -> None:
        """`InvalidOtp` for a wrong code (counted and locked like a sign-in code's)."""
        user = await self._user(user_id)
        await self.codes.confirm(user, OtpPurpose.DELETE_ACCOUNT, code, ip)
        await self.erase(user)

    async def _user(self, user_id: str) -> User:
        user = await self.users.get(user_id)
        if user is None:
            raise Unauthorized()
        return user

    async def delete(self, user_id: str, password: str) -> None:
        """`InvalidCredentials` for a wrong password (counted like a failed login: the sixth
        guess in a minute is 429), `PasswordNotSet` for an account that signs in with codes
        only (confirm with a code instead)."""
        user = await self._user(user_id)
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
        fresh password or code above, or an administrator)."""
        if self.passkeys is not None:  # first: none of them signs the account in again meanwhile
            await self.passkeys.delete_all(user.id)
        await self.sessions.logout_all(user.id)
        tombstoned = await self.chat.forget_user(user.id)
        files = await self.files.delete_all(user.id)
        await self.otp.forget(user.id)
        await self.factors.delete(user.id)
        for identity in await self.identities.for_user(user.id):  # the provider sign-ins
            await self.identities.remove(user.id, identity.id)
        email_key = "email-" + self.keys.email_key(user.email)
        for counter in (login_failures_key(user.id), login_failures_key(email_key)):
            await self.limiter.forget(counter)
        for purpose in OtpPurpose:
            await self.limiter.forget(cooldown_key(self.keys, user.email, purpose))
        await self.users.delete(user.id)
        self.events.record("account_deleted", user_id=user.id, files=files, messages=tombstoned)
