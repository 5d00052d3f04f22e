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


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    name: str
    password_hash: str
    email_verified: bool
    created_at: datetime
    updated_at: datetime
    # set by an administrator: the account cannot sign in or refresh (README "Administration")
    disabled: bool = False

    def profile(self) -> UserProfile:
        return UserProfile(self.id, self.email, self.name, self.email_verified, self.created_at)

    def public(self) -> PublicProfile:
        return PublicProfile(self.id, self.name)

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


@dataclass(frozen=True, slots=True)
class PublicProfile:
    """What the users who share a room with a user may see of them: no email, nothing private."""

    id: str
    name: str


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
