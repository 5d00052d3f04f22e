"""Who is calling: the one answer both entrypoints get from an access token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.auth.revocations import RevokedSessions
from domain.errors import Unauthorized
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
    revoked: RevokedSessions

    async def authenticate(self, token: str) -> Principal:
        """The principal of a valid access token of a session not revoked; `Unauthorized` for
        anything else."""
        claims = self.tokens.verify(token, self.clock.now())
        if await self.revoked.is_revoked(claims.session_id):
            raise Unauthorized("The access token is not valid.")
        return Principal(claims.user_id, claims.session_id, claims.expires_at)

    def still_valid(self, principal: Principal) -> bool:
        """The principal's token has not expired and its session was not revoked since."""
        now = self.clock.now()
        return principal.expires_at > now and not self.revoked.known(principal.session_id)
