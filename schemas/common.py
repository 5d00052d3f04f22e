"""Shapes every context shares: the validators' building blocks, times, fields the server
leaves out, the error body and its codes."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

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


def json_integer(value: object) -> object:
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


class In(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a Z: 2026-11-26T07:12:24.123Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Moment = Annotated[
    datetime,
    PlainSerializer(iso, return_type=str),
    Field(description="ISO 8601 UTC with milliseconds", json_schema_extra={"format": "date-time"}),
]


def _present_when_set(schema: dict[str, Any]) -> None:
    """The document of a field the server leaves out when it has no value: not `null`, no
    default (a generator then types it `x?: T`, not `x: T | null`)."""
    variants = schema.pop("anyOf", None)
    if variants is not None:
        kept = [v for v in variants if v != {"type": "null"}]
        if len(kept) == 1:
            schema.update(kept[0])
        else:
            schema["anyOf"] = kept
    schema.pop("default", None)


def _is_none(value: object) -> bool:
    return value is None


def omitted_when_none(description: str) -> Any:
    """A response field left out of the JSON when it is None (never sent as `null`)."""
    return Field(
        default=None,
        description=description,
        exclude_if=_is_none,
        json_schema_extra=_present_when_set,
    )


class ErrorCode(StrEnum):
    """Every `error.code` the server sends, over HTTP and in Socket.IO acks (README "## Errors")."""

    account_disabled = "account_disabled"
    bad_request = "bad_request"
    conflict = "conflict"
    csrf_rejected = "csrf_rejected"
    edit_window_closed = "edit_window_closed"
    email_not_verified = "email_not_verified"
    entity_too_small = "entity_too_small"
    forbidden = "forbidden"
    headers_too_large = "headers_too_large"
    identity_taken = "identity_taken"
    internal_error = "internal_error"
    invalid_credentials = "invalid_credentials"
    invalid_cursor = "invalid_cursor"
    invalid_json = "invalid_json"
    invalid_mfa_challenge = "invalid_mfa_challenge"
    invalid_notification = "invalid_notification"
    invalid_otp = "invalid_otp"
    invalid_part = "invalid_part"
    invalid_passkey = "invalid_passkey"
    invalid_provider_state = "invalid_provider_state"
    invalid_token = "invalid_token"  # noqa: S105 (an error code)
    last_sign_in_method = "last_sign_in_method"
    method_not_allowed = "method_not_allowed"
    mfa_already_enabled = "mfa_already_enabled"
    mfa_not_enabled = "mfa_not_enabled"
    no_multipart_upload = "no_multipart_upload"
    not_an_image = "not_an_image"
    not_found = "not_found"
    passkey_exists = "passkey_exists"
    password_not_set = "password_not_set"  # noqa: S105 (an error code)
    payload_too_large = "payload_too_large"
    provider_email_unverified = "provider_email_unverified"
    provider_failed = "provider_failed"
    quota_exceeded = "quota_exceeded"
    redirect_not_allowed = "redirect_not_allowed"
    request_timeout = "request_timeout"
    service_unavailable = "service_unavailable"
    token_reused = "token_reused"  # noqa: S105 (an error code)
    too_many_passkeys = "too_many_passkeys"
    too_many_requests = "too_many_requests"
    too_many_sockets = "too_many_sockets"
    unauthorized = "unauthorized"
    unknown_event = "unknown_event"
    unknown_provider = "unknown_provider"
    unsupported_media_type = "unsupported_media_type"
    upload_incomplete = "upload_incomplete"
    validation_error = "validation_error"


class ErrorDetail(BaseModel):
    """One offending field of a `validation_error` (its value is never echoed)."""

    field: str = Field(description="dotted path, e.g. `body.name`; empty for the whole body")
    message: str
    type: str | None = omitted_when_none("pydantic's error type, e.g. `missing`")


class ErrorBody(BaseModel):
    code: ErrorCode
    message: str
    request_id: str
    details: list[ErrorDetail] | None = omitted_when_none("`validation_error` only")


class ErrorResponse(BaseModel):
    error: ErrorBody
