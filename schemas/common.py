"""Shapes every context shares: the validators' building blocks, the error body, a status."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

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


class ErrorBody(BaseModel):
    code: str
    message: str
    request_id: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class StatusOut(BaseModel):
    status: str
