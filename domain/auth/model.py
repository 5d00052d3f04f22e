"""Auth entities and value objects: users, session families, pending email codes."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

PASSWORD_MIN = 10
PASSWORD_MAX = 256
PROFILES_ASKED_MAX = 100  # the user ids one GET /users names
EMAIL_MAX = 254
NAME_MAX = 100

NO_PASSWORD = ""  # no password verifies against it: sign in with a code or reset one

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.][^@\s]*\.[^@\s.]{2,}$")


def normalize_email(raw: str) -> str:
    """The one spelling an address is stored and looked up under: NFC, trimmed, lower-cased."""
    return unicodedata.normalize("NFC", raw).strip().lower()


# Control (NUL included), format (bidi overrides and isolates, zero-width spaces and joiners,
# the BOM), separator, surrogate, private-use and unassigned characters: none is part of an
# address a person types, and each can make two addresses look alike or a mail render lies.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})
_REFUSED_CHARACTERS = frozenset('<>"\\')


def is_valid_email(email: str) -> bool:
    return (
        len(email) <= EMAIL_MAX
        and bool(_EMAIL.match(email))
        and not any(
            ch in _REFUSED_CHARACTERS or unicodedata.category(ch) in _REFUSED_CATEGORIES
            for ch in email
        )
    )


class OtpPurpose(StrEnum):
    LOGIN = "login"
    PASSWORD_RESET = "password_reset"  # noqa: S105 (a purpose, not a password)
    VERIFY_EMAIL = "verify_email"
    # confirms a signed-in user's account deletion (mailed by POST /users/me/deletion-code);
    # the code routes of API.md do not take it
    DELETE_ACCOUNT = "delete_account"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    name: str
    password_hash: str
    email_verified: bool
    created_at: datetime
    updated_at: datetime
    # The avatar: one of the user's own images, public, with the public token it had when it
    # was chosen (domain/auth/avatars.py). Shown only while the file still has that token, so
    # a file deleted or made private (then perhaps public again, for something else) is no
    # longer the avatar.
    avatar_file_id: str | None = None
    avatar_token: str | None = None
    # set by an administrator: the account cannot sign in or refresh (README "Administration")
    disabled: bool = False

    def profile(self, avatar_url: str | None = None) -> UserProfile:
        return UserProfile(
            self.id, self.email, self.name, self.email_verified, self.created_at, avatar_url
        )

    def public(self, avatar_url: str | None = None) -> PublicProfile:
        return PublicProfile(self.id, self.name, avatar_url)

    def verified(self, at: datetime) -> User:
        return self if self.email_verified else replace(self, email_verified=True, updated_at=at)

    def claimed(self, at: datetime) -> User:
        """Verified by a code that proves the mailbox but no registration (a login code): a
        never-verified account keeps no password it held, which was a stranger's signup."""
        if self.email_verified:
            return self
        return replace(self, email_verified=True, password_hash=NO_PASSWORD, updated_at=at)

    def registered_again(self, name: str, password_hash: str, at: datetime) -> User:
        """An unverified account taken over by a newer signup: its name and password."""
        return replace(self, name=name, password_hash=password_hash, updated_at=at)

    def renamed(self, name: str, at: datetime) -> User:
        return replace(self, name=name, updated_at=at)

    def with_avatar(self, file_id: str | None, token: str | None, at: datetime) -> User:
        """The avatar set to the public image `file_id` (with its public `token`), or
        cleared (None)."""
        if file_id is None or token is None:
            return replace(self, avatar_file_id=None, avatar_token=None, updated_at=at)
        return replace(self, avatar_file_id=file_id, avatar_token=token, updated_at=at)

    def with_password(self, password_hash: str, at: datetime) -> User:
        return replace(self, password_hash=password_hash, updated_at=at)

    def with_disabled(self, disabled: bool, at: datetime) -> User:
        if self.disabled == disabled:
            return self
        return replace(self, disabled=disabled, updated_at=at)


@dataclass(frozen=True, slots=True)
class UserProfile:
    """What a client may see of a user."""

    id: str
    email: str
    name: str
    email_verified: bool
    created_at: datetime
    avatar_url: str | None = None  # a public, token-free URL; None without an avatar


@dataclass(frozen=True, slots=True)
class PublicProfile:
    """What the users who share a room with a user may see of them: no email, nothing private."""

    id: str
    name: str
    avatar_url: str | None = None


@dataclass(frozen=True, slots=True)
class SessionFamily:
    """One login's chain of refresh tokens. Only hashes of tokens are kept.

    `generation` counts rotations; the token of generation n is derived from the family's
    secret salt, so the current token can be handed out again inside the grace window
    without ever storing it. `grace_generation` is the generation whose grace was handed out
    (once per generation), -1 before any.
    """

    id: str
    user_id: str
    salt: str
    generation: int
    current_hash: str
    previous_hash: str | None
    created_at: datetime
    rotated_at: datetime
    expires_at: datetime
    grace_generation: int = -1
    client: str = ""  # a coarse description of the client that signed in ("Firefox on Linux")


@dataclass(frozen=True, slots=True)
class PendingCode:
    """The one email code of a purpose a user may have outstanding."""

    purpose: OtpPurpose
    code_hash: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class SentEmail:
    to: str
    subject: str
    text: str
    html: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: str
    session_id: str
    token_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    user: UserProfile
    token_type: str = "bearer"  # noqa: S105


@dataclass(frozen=True, slots=True)
class ResetGrant:
    reset_token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class RateWindow:
    """The state of one fixed-window counter after a hit (or a peek)."""

    count: int
    limit: int
    reset_in_s: int

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)


@dataclass(frozen=True, slots=True)
class Reservation:
    """The answer to a request to evaluate one guess (a password): `granted`, the guess is
    counted already and the account's one evaluation slot is held; otherwise `busy` says
    whether another evaluation holds the slot (else the window's limit is reached)."""

    granted: bool
    busy: bool = False
    retry_in_s: int = 0


class CodeVerdict(StrEnum):
    ACCEPTED = "accepted"  # the pending code, now spent
    WRONG = "wrong"  # counted against the code and the hourly limit
    LOCKED = "locked"  # the hourly limit is reached: not evaluated


@dataclass(frozen=True, slots=True)
class CodeLimits:
    """How many guesses a code and an hour allow. A lock needs more wrong guesses than one
    client address may make, so no stranger can lock an account's codes alone."""

    tries_per_code: int
    wrong_per_hour: int  # for the user, from every client together
    wrong_per_client_hour: int  # for the user from one client address


@dataclass(frozen=True, slots=True)
class CodeCheck:
    verdict: CodeVerdict
    retry_in_s: int = 0


@dataclass(frozen=True, slots=True)
class SecondFactor:
    """A user's TOTP second factor: pending from enrolment until a code confirms it.

    `secret` is the base32 TOTP secret as the authenticator app holds it (it cannot be hashed:
    codes are computed from it); `recovery_hashes`, SHA-256 of the unused recovery codes;
    `last_step`, the TOTP time step last spent (a code of it or an earlier one is refused);
    `spent_before_ms`, the issue time of the last challenge completed (a challenge issued at or
    before it is spent)."""

    user_id: str
    secret: str
    enabled: bool
    recovery_hashes: tuple[str, ...] = ()
    last_step: int = -1
    spent_before_ms: int = 0


@dataclass(frozen=True, slots=True)
class MfaChallenge:
    """What a login answers instead of tokens when the user has a second factor: complete it
    with a code at `POST /auth/mfa` within `expires_in` seconds."""

    challenge: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    secret: str  # base32, for typing into an authenticator app
    uri: str  # otpauth://totp/..., for a QR code


@dataclass(frozen=True, slots=True)
class SecondFactorStatus:
    enabled: bool
    pending: bool  # an enrolment started, not yet confirmed
    recovery_codes_left: int
