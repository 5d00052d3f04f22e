from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.auth.model import AccessClaims, IssuedToken


class PasswordHasher(Protocol):
    """Slow, salted password hashing. Both methods keep the event loop free."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when `password` matches; False for a mismatch or a malformed hash."""
        ...


class AccessTokenCodec(Protocol):
    """Short-lived signed access tokens."""

    @property
    def ttl_s(self) -> int:
        """Seconds an issued token lives (its `expires_in`; `GET /config` tells clients)."""
        ...

    def issue(self, user_id: str, session_id: str, now: datetime) -> IssuedToken: ...

    def verify(self, token: str, now: datetime) -> AccessClaims:
        """The claims of a valid access token; raises `Unauthorized` for anything else
        (malformed, tampered, expired, wrong algorithm, audience, issuer or type)."""
        ...
