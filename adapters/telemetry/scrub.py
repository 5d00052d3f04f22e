"""What must never leave the process in a log line or an error report: passwords, tokens,
email codes, Authorization headers, AWS keys, credentials in URIs, email addresses.

Two layers: values under a sensitive key are replaced whatever they are, and free text
(exception messages, tracebacks) is searched for what such values look like.
"""

from __future__ import annotations

import re
from collections.abc import Callable

REDACTED = "[redacted]"

# Key names (compared lower-cased) whose values are never reported.
SENSITIVE_KEYS = frozenset({
    "password", "passwd", "pwd", "new_password", "old_password", "secret", "token",
    "access_token", "refresh_token", "reset_token", "id_token", "code", "otp", "authorization",
    "proxy-authorization", "cookie", "set-cookie", "api_key", "apikey", "x-api-key",
    "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "jwt_secret",
    "jwt_refresh_secret", "source_token", "rollbar_token", "logtail_token",
    "x-rollbar-access-token", "email", "to",
})  # fmt: skip


def _mixed_secret(match: re.Match[str]) -> str:
    """A long run of base64-ish characters with upper case, lower case and digits: an HMAC, an
    AWS secret key or an API token (hex ids and hashes are lower case, and stay)."""
    text = match.group(0)
    mixed = any(c.isupper() for c in text) and any(c.islower() for c in text)
    return REDACTED if mixed and any(c.isdigit() for c in text) else text


_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}"), rf"\1 {REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), REDACTED),
    (
        re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,20}://)[^/\s:@]{0,256}:[^/\s@]{0,256}@"),
        rf"\1{REDACTED}@",
    ),
    (
        re.compile(
            r"(?i)((?:\b[\w-]{0,40}(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|"
            r"authorization)|\b(?:otp|code|pwd))[\w-]{0,40}[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&}]+"
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|AGPA)[A-Z0-9]{12,}\b"), REDACTED),
    (
        re.compile(
            r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,}"
        ),
        REDACTED,
    ),
    (re.compile(r"(?<![\w.:/-])\d{6}(?![\w:/-]|\.\d)"), REDACTED),
    (re.compile(r"[A-Za-z0-9_+/=-]{32,}"), _mixed_secret),
)


def redact(text: str) -> str:
    """`text` with every secret-looking part replaced by `[redacted]`."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def is_sensitive_key(key: object) -> bool:
    return isinstance(key, str) and key.lower() in SENSITIVE_KEYS
