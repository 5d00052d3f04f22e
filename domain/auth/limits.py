"""The rate-limit keys auth counts under, the one way a limit refuses, and whom a security
event names."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from domain.auth.model import User
from domain.auth.policy import AuthPolicy
from domain.auth.secrets import Keyring
from domain.errors import TooManyRequests
from ports.events import EventLog
from ports.rate_limit import RateLimiter

LOCKED = "Too many failed logins; try again later."
BUSY = "Another sign-in to this account is being checked; try again in a moment."


async def enforce(limiter: RateLimiter, key: str, limit: int, window_s: int) -> None:
    """Count one event; 429 once the window holds more than `limit`."""
    window = await limiter.hit(key, limit, window_s)
    if window.exceeded:
        raise TooManyRequests(window.reset_in_s)


def login_failures_key(user_id: str) -> str:
    return f"rate:{user_id}:login"


async def guarded_guess(
    limiter: RateLimiter,
    *,
    policy: AuthPolicy,
    events: EventLog,
    key: str,
    user: User | None,
    check: Callable[[], Awaitable[bool]],
) -> bool:
    """One password guess under the account's login failure limit (`key`): reserved before
    `check` runs (429 once the minute holds `login_failures_per_minute` guesses, or while
    another check of the account runs), released after; a success starts the count over.
    Every password check of an account goes through here (a login, an account's deletion),
    so they share one limit."""
    reservation = await limiter.reserve(
        key, policy.login_failures_per_minute, 60, policy.login_check_hold_s
    )
    if reservation.busy or not reservation.granted:
        reason = "busy" if reservation.busy else "locked"
        retry = reservation.retry_in_s
        events.warn("login_refused", **account(user), reason=reason, retry_in_s=retry)
        raise TooManyRequests(reservation.retry_in_s, BUSY if reservation.busy else LOCKED)
    matches = False
    try:
        matches = await check()
    finally:
        await limiter.release(key, succeeded=matches)
    return matches


def cooldown_key(keys: Keyring, email: str, purpose: str) -> str:
    return f"rate:email-{keys.email_key(email)}:otp:{purpose}"


def account(user: User | None) -> dict[str, str]:
    """Whom a security event is about: the account's id, or `unknown` for an address without
    an account (never the address itself)."""
    return {"user_id": user.id} if user is not None else {"account": "unknown"}
