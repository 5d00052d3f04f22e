"""The rate-limit keys auth counts under, the one way a limit refuses, and whom a security
event names."""

from __future__ import annotations

from domain.auth.model import User
from domain.auth.secrets import Keyring
from domain.errors import TooManyRequests
from ports.rate_limit import RateLimiter


async def enforce(limiter: RateLimiter, key: str, limit: int, window_s: int) -> None:
    """Count one event; 429 once the window holds more than `limit`."""
    window = await limiter.hit(key, limit, window_s)
    if window.exceeded:
        raise TooManyRequests(window.reset_in_s)


def login_failures_key(user_id: str) -> str:
    return f"rate:{user_id}:login"


def cooldown_key(keys: Keyring, email: str, purpose: str) -> str:
    return f"rate:email-{keys.email_key(email)}:otp:{purpose}"


def account(user: User | None) -> dict[str, str]:
    """Whom a security event is about: the account's id, or `unknown` for an address without
    an account (never the address itself)."""
    return {"user_id": user.id} if user is not None else {"account": "unknown"}
