"""Who is calling: the one answer both entrypoints get from an access token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ports.clock import Clock
from ports.security import AccessTokenCodec


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller behind a valid access token: whose, which session, valid until when."""

    user_id: str
    session_id: str
    expires_at: datetime


@dataclass(slots=True)
class Authenticator:
    tokens: AccessTokenCodec
    clock: Clock

    async def authenticate(self, token: str) -> Principal:
        """The principal of a valid access token; `Unauthorized` for anything else."""
        claims = self.tokens.verify(token, self.clock.now())
        return Principal(claims.user_id, claims.session_id, claims.expires_at)
