"""Auth's request and response shapes (signup, login, codes, sessions, the profile, the dev
mailbox)."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

from domain.auth.model import (
    PASSWORD_MAX,
    PROFILES_ASKED_MAX,
    MfaChallenge,
    PublicProfile,
    ResetGrant,
    SecondFactorStatus,
    SessionFamily,
    TokenPair,
    TotpEnrolment,
    UserProfile,
)
from domain.chat.model import ID_MAX
from schemas.common import (
    Code,
    DisplayName,
    EmailAddress,
    In,
    Moment,
    Password,
    Token,
    omitted_when_none,
)
from schemas.passkeys import AuthenticationCredentialIn

Purpose = Literal["login", "password_reset", "verify_email"]


class SignupIn(In):
    email: EmailAddress
    password: Password
    name: DisplayName


class VerifyEmailIn(In):
    email: EmailAddress
    code: Code


class LoginIn(In):
    email: EmailAddress
    password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]


class OtpSendIn(In):
    email: EmailAddress
    purpose: Purpose


class OtpVerifyIn(In):
    email: EmailAddress
    purpose: Purpose
    code: Code


class PasswordResetIn(In):
    reset_token: Token
    new_password: Password


class RefreshIn(In):
    # left out: the refresh-token cookie's, with its CSRF checks (README "Cookies for server
    # rendering"); sent, it is used as always
    refresh_token: Token | None = Field(
        default=None,
        description=(
            "the refresh token; leave it out to use the refresh-token cookie (cookie transport,"
            " which needs an allowed `Origin` and the `X-CSRF-Token` header)"
        ),
    )


class ProfileUpdateIn(In):
    """What `PATCH /users/me` changes: the fields sent, each optional."""

    # left out: the name stays (a null is refused, like any value that is not a name)
    # (the default is never used: `new_name` reads what was sent)
    name: DisplayName = Field(default="", description="a new display name; left out, it stays")
    avatar_file_id: Annotated[str, Field(min_length=1, max_length=ID_MAX)] | None = Field(
        default=None,
        description=(
            "one of the caller's ready images (PNG, JPEG, GIF, WebP) as the avatar: the file is"
            " made public if it is not (its public copies count in the storage quota); null"
            " clears the avatar (the file stays as it is)"
        ),
    )

    def new_name(self) -> str | None:
        """The name sent, None when it was left out."""
        return self.name if "name" in self.model_fields_set else None

    def avatar_sent(self) -> bool:
        """Whether `avatar_file_id` was sent (null included): left out, the avatar stays."""
        return "avatar_file_id" in self.model_fields_set


class PasswordConfirmation(In):
    """The account's current password, checked again (counted like a login's)."""

    model_config = ConfigDict(extra="forbid")
    password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]


class CodeConfirmation(In):
    """A `delete_account` code from `POST /users/me/deletion-code`'s mail."""

    model_config = ConfigDict(extra="forbid")
    code: Code


class PasskeyConfirmation(In):
    """A passkey of the account answering `POST /users/me/deletion-options`' challenge, with
    user verification (a sign-in's challenge does not confirm a deletion)."""

    model_config = ConfigDict(extra="forbid")
    credential: AuthenticationCredentialIn


class DeleteAccountIn(RootModel[PasswordConfirmation | CodeConfirmation | PasskeyConfirmation]):
    """Exactly one of the three (two, or none, is 422)."""


AVATAR_URL_DOC = (
    "the avatar's stable public URL (no token, immutable, cacheable): its 256 px WebP"
    " thumbnail, or the image itself when it has none; absent without an avatar, and once"
    " its file is deleted or made private"
)


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    email_verified: bool
    created_at: Moment
    avatar_url: str | None = omitted_when_none(AVATAR_URL_DOC)

    @classmethod
    def from_domain(cls, user: UserProfile) -> Self:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            email_verified=user.email_verified,
            created_at=user.created_at,
            avatar_url=user.avatar_url,
        )


class UsersQuery(BaseModel):
    ids: Annotated[
        str,
        Field(
            max_length=PROFILES_ASKED_MAX * (ID_MAX + 1),
            description=f"comma-separated user ids, at most {PROFILES_ASKED_MAX} distinct",
        ),
    ] = ""

    @field_validator("ids")
    @classmethod
    def _at_most_the_cap(cls, value: str) -> str:
        ids = {part.strip() for part in value.split(",")} - {""}
        if len(ids) > PROFILES_ASKED_MAX:
            raise ValueError(f"names more than {PROFILES_ASKED_MAX} user ids")
        return value

    def wanted(self) -> list[str]:
        """The ids asked, each once, in the order first named; one longer than any id is
        nobody's, left out like an unknown one."""
        ids = (part.strip() for part in self.ids.split(","))
        return list(dict.fromkeys(i for i in ids if i and len(i) <= ID_MAX))


class PublicUserOut(BaseModel):
    id: str
    name: str
    avatar_url: str | None = omitted_when_none(AVATAR_URL_DOC)

    @classmethod
    def from_domain(cls, user: PublicProfile) -> Self:
        return cls(id=user.id, name=user.name, avatar_url=user.avatar_url)


class PublicUsersOut(BaseModel):
    items: list[PublicUserOut] = Field(
        description="the users asked for who share a room with the caller (the caller included)"
    )


class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str = Field(
        default="",
        description=(
            "absent with the cookie transport (`X-FlowHub-Token-Transport: cookie`): the"
            " refresh token is then in the HttpOnly cookie, never in a body"
        ),
    )
    token_type: Literal["bearer"]
    expires_in: int = Field(description="seconds until the access token expires")
    user: UserOut

    @classmethod
    def from_domain(cls, pair: TokenPair) -> Self:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            token_type="bearer",  # noqa: S106 (a token kind, not a secret)
            expires_in=pair.expires_in,
            user=UserOut.from_domain(pair.user),
        )


class ResetGrantOut(BaseModel):
    reset_token: str = Field(description="for `POST /auth/password/reset`")
    token_type: Literal["reset"] = Field(description="tells a ResetGrant from a TokenPair")
    expires_in: int = Field(description="seconds until the reset token expires")

    @classmethod
    def from_domain(cls, grant: ResetGrant) -> Self:
        return cls(
            reset_token=grant.reset_token,
            token_type="reset",  # noqa: S106 (a token kind, not a secret)
            expires_in=grant.expires_in,
        )


class MfaChallengeOut(BaseModel):
    """A login's answer when the user has a second factor: no tokens yet; complete it with
    `POST /auth/mfa` `{challenge, code}`."""

    token_type: Literal["mfa"] = Field(description="tells a challenge from a TokenPair")
    mfa_required: Literal[True]
    challenge: str = Field(description="opaque; for `POST /auth/mfa`, once")
    expires_in: int = Field(description="seconds until the challenge expires")

    @classmethod
    def from_domain(cls, challenge: MfaChallenge) -> Self:
        return cls(
            token_type="mfa",  # noqa: S106 (a token kind, not a secret)
            mfa_required=True,
            challenge=challenge.challenge,
            expires_in=challenge.expires_in,
        )


def _signed_in(result: TokenPair | MfaChallenge) -> TokenPairOut | MfaChallengeOut:
    if isinstance(result, MfaChallenge):
        return MfaChallengeOut.from_domain(result)
    return TokenPairOut.from_domain(result)


class LoginOut(
    RootModel[Annotated[TokenPairOut | MfaChallengeOut, Field(discriminator="token_type")]]
):
    """A TokenPair (`token_type: "bearer"`), or an MfaChallenge (`token_type: "mfa"`) when
    the user has a second factor enabled."""

    @classmethod
    def from_domain(cls, result: TokenPair | MfaChallenge) -> Self:
        return cls(_signed_in(result))


class OtpVerifyOut(
    RootModel[
        Annotated[TokenPairOut | ResetGrantOut | MfaChallengeOut, Field(discriminator="token_type")]
    ]
):
    """`login` and `verify_email` codes: a TokenPair (`token_type: "bearer"`), or an
    MfaChallenge (`token_type: "mfa"`) when the user has a second factor; a `password_reset`
    code: a ResetGrant (`token_type: "reset"`)."""

    @classmethod
    def from_domain(cls, result: TokenPair | MfaChallenge | ResetGrant) -> Self:
        if isinstance(result, ResetGrant):
            return cls(ResetGrantOut.from_domain(result))
        return cls(_signed_in(result))


MfaCode = Annotated[
    str,
    Field(
        min_length=6,
        max_length=32,
        description="a 6-digit code of the authenticator app, or a recovery code (once)",
    ),
]


class MfaCodeIn(In):
    """The challenge and a TOTP code or a recovery code."""

    model_config = ConfigDict(extra="forbid")
    challenge: Token
    code: MfaCode


class MfaPasskeyIn(In):
    """The challenge and a passkey's `credential` answering the options of
    `POST /auth/passkeys/login/options {mfa_challenge}`."""

    model_config = ConfigDict(extra="forbid")
    challenge: Token
    credential: AuthenticationCredentialIn


class MfaIn(RootModel[MfaCodeIn | MfaPasskeyIn]):
    """The challenge and exactly one proof (both, or neither, is 422)."""


class TotpConfirmIn(In):
    code: Annotated[str, Field(min_length=6, max_length=6, pattern=r"^[0-9]{6}$")]


class MfaCodeProof(In):
    """A fresh code from the app, or a recovery code."""

    model_config = ConfigDict(extra="forbid")
    code: MfaCode


class MfaPasswordProof(In):
    """The account's password (counted like a login's)."""

    model_config = ConfigDict(extra="forbid")
    password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]


class MfaProofIn(RootModel[MfaCodeProof | MfaPasswordProof]):
    """Exactly one proof (both, or neither, is 422)."""

    @property
    def code(self) -> str | None:
        return self.root.code if isinstance(self.root, MfaCodeProof) else None

    @property
    def password(self) -> str | None:
        return self.root.password if isinstance(self.root, MfaPasswordProof) else None


class TotpEnrolmentOut(BaseModel):
    secret: str = Field(description="base32, for typing into an authenticator app")
    uri: str = Field(description="`otpauth://totp/...`, for a QR code")

    @classmethod
    def from_domain(cls, enrolment: TotpEnrolment) -> Self:
        return cls(secret=enrolment.secret, uri=enrolment.uri)


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(
        description="shown this once (only their hashes are kept); each signs in once"
    )


class MfaStatusOut(BaseModel):
    enabled: bool
    pending: bool = Field(description="an enrolment is started, not yet confirmed")
    recovery_codes_left: int

    @classmethod
    def from_domain(cls, status: SecondFactorStatus) -> Self:
        return cls(
            enabled=status.enabled,
            pending=status.pending,
            recovery_codes_left=status.recovery_codes_left,
        )


class VerificationSentOut(BaseModel):
    status: Literal["verification_sent"]


class CodeSentOut(BaseModel):
    status: Literal["sent_if_exists"]


class DeletionCodeSentOut(BaseModel):
    status: Literal["sent"]


class MailOut(BaseModel):
    to: str
    subject: str
    text: str
    sent_at: Moment


class MailboxOut(BaseModel):
    messages: list[MailOut] = Field(description="newest first")


class MailboxQuery(BaseModel):
    to: str


class SessionOut(BaseModel):
    """One of the user's sessions (one per sign-in)."""

    id: str
    created_at: Moment = Field(description="when the user signed in")
    last_used_at: Moment = Field(description="when its token was last renewed")
    client: str = Field(description='a coarse description: "Firefox on Linux"')
    current: bool = Field(description="the session of the request that asks")

    @classmethod
    def from_domain(cls, family: SessionFamily, *, current: bool) -> Self:
        return cls(
            id=family.id,
            created_at=family.created_at,
            last_used_at=family.rotated_at,
            client=family.client or "an unknown client",
            current=current,
        )


class SessionListOut(BaseModel):
    items: list[SessionOut]
