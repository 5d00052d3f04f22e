"""Auth's request and response shapes (signup, login, codes, sessions, the profile, the dev
mailbox)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, RootModel

from domain.auth.model import PASSWORD_MAX
from schemas.common import Code, DisplayName, EmailAddress, In, Password, Token

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


class OtpRequestIn(In):
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
    refresh_token: Token


class RenameIn(In):
    name: DisplayName


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    email_verified: bool
    created_at: str = Field(description="ISO 8601 UTC")


class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"]
    expires_in: int = Field(description="seconds until the access token expires")
    user: UserOut


class ResetGrantOut(BaseModel):
    reset_token: str
    expires_in: int


class OtpVerifyOut(RootModel[TokenPairOut | ResetGrantOut]):
    pass


class MailOut(BaseModel):
    to: str
    subject: str
    text: str
    sent_at: str


class MailboxOut(BaseModel):
    messages: list[MailOut]


class MailboxQuery(BaseModel):
    to: str
