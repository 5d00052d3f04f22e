"""The rate-limit keys auth counts under, and the one way a limit refuses."""

from __future__ import annotations

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
