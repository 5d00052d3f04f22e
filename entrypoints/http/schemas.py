"""Request and response shapes: validation for the handlers and the OpenAPI document."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    StrictBool,
)

from domain.auth.model import (
    EMAIL_MAX,
    NAME_MAX,
    PASSWORD_MAX,
    PASSWORD_MIN,
    is_valid_email,
    normalize_email,
)


def _email(value: str) -> str:
    email = normalize_email(value)
    if not is_valid_email(email):
        raise ValueError("is not a valid email address")
    return email


def _name(value: str) -> str:
    name = unicodedata.normalize("NFC", value).strip()
    if not name:
        raise ValueError("must not be blank")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise ValueError("must not contain control characters")
    return name


def _json_integer(value: object) -> object:
    """A JSON integer: `5` or `5.0` (JSON Schema counts both), never `"5"` or `true`, which
    pydantic's lax mode would coerce."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("must be an integer")
    return int(value)


# What the validators accept, for clients and the fuzzer (documented here, enforced by the
# validators): an address (normalized: NFC, trimmed, lower-cased) of at most EMAIL_MAX
# characters; a name with a character other than whitespace and no control character inside it;
# a message or room name that is not blank. Whitespace is Python's `str.isspace()`, spelled out
# because `\s` differs between Python and the ECMA regexes of JSON Schema.
_WS = r"\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_CC = r"\x00-\x1f\x7f-\x9f"
_EMAIL_DOC = {"format": "email", "maxLength": EMAIL_MAX}
_NAME_DOC = {"pattern": f"^[{_WS}]*[^{_CC}]*[^{_WS}{_CC}][^{_CC}]*[{_WS}]*$"}
NOT_BLANK = {"pattern": f"[^{_WS}]"}

EmailAddress = Annotated[
    str, Field(max_length=EMAIL_MAX + 20, json_schema_extra=_EMAIL_DOC), AfterValidator(_email)
]
Password = Annotated[str, Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]
DisplayName = Annotated[
    str,
    Field(min_length=1, max_length=NAME_MAX, json_schema_extra=_NAME_DOC),
    AfterValidator(_name),
]
Code = Annotated[str, Field(min_length=1, max_length=16)]
Token = Annotated[str, Field(min_length=1, max_length=4096)]
Purpose = Literal["login", "password_reset", "verify_email"]


class In(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


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


# Responses (documentation) ---------------------------------------------------------------


class ErrorBody(BaseModel):
    code: str
    message: str
    request_id: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


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


class StatusOut(BaseModel):
    status: str


class MailOut(BaseModel):
    to: str
    subject: str
    text: str
    sent_at: str


class MailboxOut(BaseModel):
    messages: list[MailOut]


class MailboxQuery(BaseModel):
    to: str


# Files ------------------------------------------------------------------------------------


class UploadForm(BaseModel):
    """multipart/form-data with the file in the field `file` (its part's Content-Type is the
    declared type; omitted or application/octet-stream: taken from the bytes)."""

    file: bytes = Field(json_schema_extra={"format": "binary"})


class DirectUploadIn(In):
    name: Annotated[str, Field(min_length=1, max_length=1000)]
    size: Annotated[
        int,
        Field(ge=1, description="bytes; the upload must be exactly this size"),
        BeforeValidator(_json_integer),
    ]
    content_type: Annotated[str, Field(min_length=1, max_length=200)]


class FileMetaOut(BaseModel):
    id: str
    name: str
    size: int
    content_type: str
    status: Literal["pending", "ready"]
    created_at: str = Field(description="ISO 8601 UTC")
    download_url: str | None = Field(
        default=None, description="GET /files/{id} of a ready file: a link valid 15 minutes"
    )


class FilePageOut(BaseModel):
    items: list[FileMetaOut]
    next_cursor: str | None


class FilesQuery(BaseModel):
    limit: Annotated[int, Field(ge=1, le=100)] | None = None
    cursor: Annotated[str, Field(max_length=200)] | None = None


class DirectUploadOut(BaseModel):
    url: str = Field(description="POST the form here: every field of `fields`, then `file`")
    method: Literal["POST"]
    fields: dict[str, str]
    expires_at: str = Field(description="ISO 8601 UTC")


class UploadTicketOut(BaseModel):
    file: FileMetaOut
    upload: DirectUploadOut


class BlobUploadForm(BaseModel):
    """The fields the upload ticket gave (`key`, `Content-Type`), in that order, then `file`."""

    key: str
    content_type: str = Field(alias="Content-Type")
    file: bytes = Field(json_schema_extra={"format": "binary"})


# Chat ------------------------------------------------------------------------------------

Id = Annotated[str, Field(min_length=1, max_length=200)]


class RoomIn(In):
    name: Annotated[str, Field(min_length=1, max_length=100, json_schema_extra=NOT_BLANK)]
    member_ids: Annotated[list[Id], Field(max_length=100)] = Field(default_factory=list)
    simulated: StrictBool = False


class MemberIn(In):
    user_id: Id


class MessageIn(In):
    body: Annotated[str, Field(min_length=1, max_length=4000, json_schema_extra=NOT_BLANK)]
    client_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None


SEQ_MAX = 2**63 - 1  # a seq is stored as a 64-bit integer; a larger one cannot be looked up


class MessagesQuery(BaseModel):
    before: Annotated[int, Field(ge=1, le=SEQ_MAX)] | None = None
    after: Annotated[int, Field(ge=0, le=SEQ_MAX)] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] | None = None


class PresenceQuery(BaseModel):
    user_ids: Annotated[str, Field(max_length=5000, description="comma-separated user ids")] = ""


class RoomOut(BaseModel):
    id: str
    name: str
    member_ids: list[str]
    simulated: bool
    created_at: str = Field(description="ISO 8601 UTC")
    last_seq: int


class RoomsOut(BaseModel):
    items: list[RoomOut]


class MessageOut(BaseModel):
    id: str
    room_id: str
    sender_id: str
    body: str
    seq: int = Field(description="per room: 1, 2, 3... with no gap")
    client_id: str | None = None
    created_at: str = Field(description="ISO 8601 UTC")


class MessagePageOut(BaseModel):
    items: list[MessageOut] = Field(description="ascending by seq")
    next_before: int | None = Field(description="pass as `before` for older messages")


class PresenceOut(RootModel[dict[str, Literal["online", "offline"]]]):
    pass
