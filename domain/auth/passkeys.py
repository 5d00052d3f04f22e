"""Passkeys (WebAuthn): registering them, signing in with one, completing a login's
second-factor challenge with one, and managing a user's list.

Challenges are stateless (`Keyring.passkey_challenge`): signed, bound to their ceremony and
subject, valid `CHALLENGE_TTL_S`; no Redis command and no write is spent on one that is never
answered. Their single use is the credential's: an assertion is accepted only by one
conditional write that moves the credential's counter up and its `spent_before_ms` to the
challenge's issue time, so a replayed answer (or a challenge older than the last one the
credential answered) is refused. A registration answered twice would store the same credential
id again, which the store refuses. docs/decisions/passkeys.md has the reasoning."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from domain.auth.errors import InvalidMfaChallenge, InvalidPasskey, PasskeyExists, TooManyPasskeys
from domain.auth.mfa import SecondFactorGate
from domain.auth.model import MfaChallenge, TokenPair
from domain.auth.passkey import (
    PASSKEYS_MAX,
    Ceremony,
    CeremonyOptions,
    Passkey,
    RelyingParty,
    VerifiedAssertion,
)
from domain.auth.secrets import Keyring
from domain.auth.sessions import SessionIssuer
from domain.errors import NotFound, Unauthorized
from ports.clock import Clock
from ports.events import EventLog
from ports.ids import IdGenerator
from ports.passkeys import PasskeyStore, WebAuthnVerifier
from ports.users import UserRepository

CHALLENGE_TTL_S = 300
DEFAULT_NAME = "Passkey"


def mfa_subject(mfa_challenge: str) -> str:
    """What a passkey challenge for completing `mfa_challenge` is bound to."""
    return hashlib.sha256(mfa_challenge.encode()).hexdigest()[:32]


@dataclass(kw_only=True, slots=True)
class PasskeyChallenges:
    """Issuing and opening the signed WebAuthn challenges, and checking an assertion."""

    passkeys: PasskeyStore
    verifier: WebAuthnVerifier
    rp: RelyingParty
    keys: Keyring
    clock: Clock
    events: EventLog

    def _now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def issue(self, ceremony: Ceremony, subject: str) -> bytes:
        return self.keys.passkey_challenge(ceremony.value, subject, self._now_ms()).encode()

    def open(self, challenge: bytes, ceremony: Ceremony, subject: str) -> int:
        """The issue time (ms) of a challenge of this ceremony and subject that has not
        expired; `InvalidPasskey` otherwise."""
        try:
            token = challenge.decode("ascii")
        except UnicodeDecodeError:
            token = ""
        opened = self.keys.open_passkey_challenge(token)
        if opened is None or opened[0] != ceremony.value or opened[1] != subject:
            raise InvalidPasskey("The passkey's answer is not for this challenge; start again.")
        issued_ms = opened[2]
        if self._now_ms() - issued_ms > CHALLENGE_TTL_S * 1000:
            raise InvalidPasskey("The passkey challenge expired; start again.")
        return issued_ms

    async def asserted(
        self,
        credential: dict[str, object],
        ceremony: Ceremony,
        subject: str,
        owner: str = "",
        *,
        user_verified: bool = False,
    ) -> tuple[Passkey, VerifiedAssertion]:
        """The passkey an authentication answer proves, once: its challenge, the library's
        checks (origin, RP ID, presence, signature), the counter, and the spend; `owner`, when
        given, is the user it must be of; `user_verified` refuses an answer the authenticator
        gave without a PIN or biometric (before the spend: the passkey may answer again)."""
        assertion = self.verifier.assertion(credential)
        issued_ms = self.open(assertion.challenge, ceremony, subject)
        passkey = await self.passkeys.by_credential(assertion.credential_id)
        if passkey is None:
            raise InvalidPasskey("This passkey is not registered here (it may have been removed).")
        if assertion.user_handle is not None and assertion.user_handle != passkey.user_id:
            raise InvalidPasskey()
        if owner and passkey.user_id != owner:
            raise InvalidPasskey("This passkey is not one of this account's.")
        verified = self.verifier.verify_assertion(self.rp, credential, assertion.challenge, passkey)
        if user_verified and not verified.user_verified:
            raise InvalidPasskey(
                "This passkey answered without user verification (a PIN or biometric on the"
                " authenticator), which this needs."
            )
        stored, reported = passkey.sign_count, verified.sign_count
        if (stored > 0 or reported > 0) and reported <= stored:
            # a genuine signature with a counter that did not move on: two copies of the key
            self.events.warn(
                "passkey_counter_regressed",
                user_id=passkey.user_id,
                passkey_id=passkey.id,
                stored=stored,
                reported=reported,
            )
            raise InvalidPasskey(
                "This passkey's signature counter went back: the authenticator may have been"
                " cloned, so it is refused."
            )
        spent = issued_ms <= passkey.spent_before_ms
        if spent or not await self.passkeys.use(passkey.id, reported, issued_ms, self.clock.now()):
            self.events.warn("passkey_replayed", user_id=passkey.user_id, passkey_id=passkey.id)
            raise InvalidPasskey("This passkey answer was used already; start again.")
        return passkey, verified


@dataclass(kw_only=True, slots=True)
class PasskeyRegistration:
    """A signed-in user's passkeys: register (options, then the answer), list, rename, remove.

    Removing the last passkey is allowed: every account has a verified address, so an email
    code always signs it in."""

    users: UserRepository
    passkeys: PasskeyStore
    challenges: PasskeyChallenges
    verifier: WebAuthnVerifier
    rp: RelyingParty
    clock: Clock
    ids: IdGenerator
    events: EventLog

    async def options(self, user_id: str) -> CeremonyOptions:
        user = await self.users.get(user_id)
        if user is None:
            raise Unauthorized()
        existing = await self.passkeys.for_user(user_id)
        if len(existing) >= PASSKEYS_MAX:
            raise TooManyPasskeys()
        options = self.verifier.registration_options(
            self.rp,
            user_id=user.id,
            user_name=user.email,
            display_name=user.name,
            challenge=self.challenges.issue(Ceremony.REGISTER, user.id),
            exclude=existing,
            timeout_ms=CHALLENGE_TTL_S * 1000,
        )
        return CeremonyOptions(options, CHALLENGE_TTL_S)

    async def register(self, user_id: str, name: str, credential: dict[str, object]) -> Passkey:
        challenge = self.verifier.registration_challenge(credential)
        self.challenges.open(challenge, Ceremony.REGISTER, user_id)
        new = self.verifier.verify_registration(self.rp, credential, challenge)
        if len(await self.passkeys.for_user(user_id)) >= PASSKEYS_MAX:
            raise TooManyPasskeys()
        passkey = Passkey(
            id=self.ids.new_id(),
            user_id=user_id,
            credential_id=new.credential_id,
            public_key=new.public_key,
            sign_count=new.sign_count,
            transports=self.verifier.transports(credential),
            name=name.strip() or DEFAULT_NAME,
            created_at=self.clock.now(),
        )
        if not await self.passkeys.add(passkey):
            raise PasskeyExists()
        self.events.record("passkey_registered", user_id=user_id, passkey_id=passkey.id)
        return passkey

    async def of_user(self, user_id: str) -> list[Passkey]:
        return await self.passkeys.for_user(user_id)

    async def rename(self, user_id: str, passkey_id: str, name: str) -> Passkey:
        renamed = await self.passkeys.rename(user_id, passkey_id, name.strip() or DEFAULT_NAME)
        if renamed is None:
            raise NotFound("No such passkey.")
        return renamed

    async def remove(self, user_id: str, passkey_id: str) -> None:
        if not await self.passkeys.delete(user_id, passkey_id):
            raise NotFound("No such passkey.")
        self.events.record("passkey_removed", user_id=user_id, passkey_id=passkey_id)


@dataclass(kw_only=True, slots=True)
class PasskeyLogin:
    """Signing in with a passkey (discoverable: no email asked), and proving a login's second
    step with one (`SecondFactorLogin` calls `prove`).

    A passkey answered with user verification (a PIN or biometric on the authenticator) is two
    factors by itself: it opens a session at once. Without it, it is one factor like a
    password, and the second-factor gate asks for TOTP when the user has it enabled."""

    users: UserRepository
    passkeys: PasskeyStore
    challenges: PasskeyChallenges
    verifier: WebAuthnVerifier
    rp: RelyingParty
    issuer: SessionIssuer
    gate: SecondFactorGate
    keys: Keyring
    clock: Clock
    mfa_challenge_ttl_s: int

    async def options(self, mfa_challenge: str | None = None) -> CeremonyOptions:
        """A discoverable login's options (no credentials listed: the authenticator offers
        the passkeys it holds for the RP), or, given a login's second-factor challenge, options
        that list that user's passkeys and are bound to that challenge."""
        if mfa_challenge is None:
            challenge = self.challenges.issue(Ceremony.LOGIN, "")
            allow: list[Passkey] = []
        else:
            user_id = self._mfa_user(mfa_challenge)
            allow = await self.passkeys.for_user(user_id)
            if not allow:
                raise InvalidPasskey("This account has no passkey; complete it with a code.")
            challenge = self.challenges.issue(Ceremony.MFA, mfa_subject(mfa_challenge))
        options = self.verifier.authentication_options(
            self.rp, challenge=challenge, allow=allow, timeout_ms=CHALLENGE_TTL_S * 1000
        )
        return CeremonyOptions(options, CHALLENGE_TTL_S)

    async def login(
        self, credential: dict[str, object], client: str = ""
    ) -> TokenPair | MfaChallenge:
        passkey, verified = await self.challenges.asserted(credential, Ceremony.LOGIN, "")
        user = await self.users.get(passkey.user_id)
        if user is None:
            raise InvalidPasskey("This passkey is not registered here.")
        if verified.user_verified:
            return await self.issuer.open(user, "passkey", client)
        return await self.gate.open(user, "passkey", client)

    async def prove(self, user_id: str, mfa_challenge: str, credential: dict[str, object]) -> None:
        """A passkey of `user_id` answered the options bound to `mfa_challenge` (once)."""
        await self.challenges.asserted(
            credential, Ceremony.MFA, mfa_subject(mfa_challenge), owner=user_id
        )

    def _mfa_user(self, mfa_challenge: str) -> str:
        opened = self.keys.open_mfa_challenge(mfa_challenge)
        now_ms = int(self.clock.now().timestamp() * 1000)
        if opened is None or now_ms - opened[2] > self.mfa_challenge_ttl_s * 1000:
            raise InvalidMfaChallenge()
        return opened[0]
