"""Which browser origins may call the API (`CORS_ORIGINS`): exact origins, `*` outside
production, and patterns for preview deployments, applied alike by HTTP CORS, Socket.IO and the
load shedder's 503.

A pattern is an origin with `*` in its leftmost host label: `https://myapp-*-team.vercel.app`.
`*` stands for one or more letters, digits or hyphens, never a dot, so it cannot reach into
another label or past the host; the whole origin must match (scheme, host and port), never a
prefix or a substring. A pattern must stay inside one registrable domain: the wildcard label is
followed by at least two labels, and on a shared hosting domain (where anyone can name a
deployment, `vercel.app`, `netlify.app`...) the wildcard label needs a literal part of its own,
since `https://*.vercel.app` would trust every Vercel deployment in the world.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

ANY = "*"

_EXACT = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
_PATTERN = re.compile(
    r"^(?P<scheme>https?)://(?P<first>[A-Za-z0-9*-]+)(?P<rest>(\.[A-Za-z0-9-]+)+)(?P<port>:\d{1,5})?$"
)
_LABEL = "[a-z0-9-]+"

# Domains under which anyone may name a host of their own (the Public Suffix List's private
# section, the platforms front ends deploy to): a wildcard directly under one trusts strangers.
SHARED_HOSTING = frozenset(
    {
        "vercel.app",
        "netlify.app",
        "pages.dev",
        "workers.dev",
        "github.io",
        "gitlab.io",
        "herokuapp.com",
        "onrender.com",
        "fly.dev",
        "web.app",
        "firebaseapp.com",
        "appspot.com",
        "azurewebsites.net",
        "azurestaticapps.net",
        "cloudfront.net",
        "amazonaws.com",
        "amplifyapp.com",
        "surge.sh",
        "ngrok.io",
        "ngrok-free.app",
    }
)


def problem(entry: str, production: bool) -> str | None:
    """Why `entry` cannot be a `CORS_ORIGINS` entry, or None when it can."""
    if entry == ANY:
        return "'*' is allowed only outside production" if production else None
    if "*" in entry:
        return _pattern_problem(entry)
    if _EXACT.match(entry):
        return None
    return "each entry must be an exact origin like https://app.example.com, or a pattern"


def _pattern_problem(entry: str) -> str | None:
    parts = _PATTERN.match(entry)
    if parts is None or "*" in parts["rest"] or "**" in parts["first"]:
        return "a pattern has one '*' per run, in the leftmost host label only"
    first, rest = parts["first"], parts["rest"].lstrip(".").lower()
    if "." not in rest:
        return "a pattern must stay inside one domain (https://*.example.com, not https://*.com)"
    if first == "*" and rest in SHARED_HOSTING:
        return (
            f"'*.{rest}' would trust every deployment on a shared host: give the label a "
            "literal part (https://myapp-*-team.vercel.app)"
        )
    return None


def _compiled(entry: str) -> re.Pattern[str]:
    literal = [re.escape(part) for part in entry.split("*")]
    # \Z, not $: `$` would also match before a trailing newline; hosts are case-insensitive
    return re.compile("^" + _LABEL.join(literal) + r"\Z", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class OriginPolicy:
    anything: bool
    exact: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, entries: Iterable[str]) -> OriginPolicy:
        """The policy of validated `CORS_ORIGINS` entries (config/settings.py checks them)."""
        listed = tuple(entries)
        return cls(
            anything=ANY in listed,
            exact=frozenset(e for e in listed if "*" not in e),
            patterns=tuple(_compiled(e) for e in listed if e != ANY and "*" in e),
        )

    def allows(self, origin: str | None) -> bool:
        """Whether a browser at `origin` (the `Origin` header, as sent) may call the API."""
        if not origin:
            return False
        if self.anything:
            return True
        return origin in self.exact or any(p.match(origin) for p in self.patterns)

    def for_quart_cors(self) -> str | list[str | re.Pattern[str]]:
        """quart-cors takes exact strings and compiled patterns (matched with `re.match`, so
        each pattern is anchored at both ends)."""
        if self.anything:
            return ANY
        return [*sorted(self.exact), *self.patterns]
