"""Sessions: opening one (a login), rotating its refresh token, signing out.

A session is a family of refresh tokens (`SessionFamily`); every pair handed out carries a
short-lived access token for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.auth.avatars import Avatars
from domain.auth.errors import AccountDisabled, TokenReused
from domain.auth.model import SessionFamily, TokenPair, User, UserProfile
from domain.auth.policy import AuthPolicy
from domain.auth.revocations import RevokedSessions
from domain.auth.secrets import Keyring
from domain.errors import NotFound, Unauthorized
from ports.clock import Clock
from ports.events import EventLog
from ports.ids import IdGenerator
from ports.security import AccessTokenCodec
from ports.sessions import SessionRepository
from ports.users import UserRepository

CLIENT_MAX = 80  # a session's client description, as stored


@dataclass(kw_only=True, slots=True)
class SessionIssuer:
    """Opens sessions and issues token pairs; the login use cases end here."""

    users: UserRepository
    sessions: SessionRepository
    tokens: AccessTokenCodec
    keys: Keyring
    clock: Clock
    ids: IdGenerator
    events: EventLog
    policy: AuthPolicy
    revoked: RevokedSessions
    avatars: Avatars

    async def open(self, user: User, method: str, client: str = "") -> TokenPair:
        """A new session family (a login); `method` says how the user proved who they are:
        `password`, or `code:<purpose>` for an email code, followed by `+totp` or `+recovery`
        when a second factor completed it; `client` describes the client for the session
        list. A disabled account gets `AccountDisabled`: every way in ends here."""
        if user.disabled:
            self.events.warn("login_refused_disabled", user_id=user.id, method=method)
            raise AccountDisabled()
        keys, now = self.keys, self.clock.now()
        family_id, salt = self.ids.new_id(), keys.new_salt()
        token = keys.refresh_token(family_id, 0, salt)
        await self.sessions.add(
            SessionFamily(
                id=family_id,
                user_id=user.id,
                salt=salt,
                generation=0,
                current_hash=keys.token_hash(token),
                previous_hash=None,
                created_at=now,
                rotated_at=now,
                expires_at=now + timedelta(seconds=self.policy.refresh_ttl_s),
                client=client[:CLIENT_MAX],
            )
        )
        self.events.record("login", user_id=user.id, session_id=family_id, method=method)
        return self._issue(await self._profile(user), family_id, token, now)

    async def pair(self, user_id: str, family_id: str, refresh_token: str) -> TokenPair:
        """A pair for an existing session; a user gone or disabled since revokes the session."""
        user = await self.users.get(user_id)
        if user is None or user.disabled:
            await self.sessions.revoke(family_id)
            await self.revoked.revoke([family_id])
            raise Unauthorized("The refresh token is not valid.")
        return self._issue(await self._profile(user), family_id, refresh_token, self.clock.now())

    async def _profile(self, user: User) -> UserProfile:
        """The profile a pair carries, its avatar included (a files read only for a user who
        has one)."""
        return user.profile((await self.avatars.urls([user])).get(user.id))

    def _issue(self, user: UserProfile, family_id: str, refresh: str, now: datetime) -> TokenPair:
        access = self.tokens.issue(user.id, family_id, now)
        return TokenPair(access.token, refresh, access.expires_in, user)


@dataclass(kw_only=True, slots=True)
class Sessions:
    """Refresh-token rotation with reuse detection, logout and logout-all."""

    sessions: SessionRepository
    issuer: SessionIssuer
    keys: Keyring
    clock: Clock
    events: EventLog
    policy: AuthPolicy
    revoked: RevokedSessions

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Spend the token for a new pair. A spent token presented again revokes its whole
        family, except once within the grace window right after it was spent (the party that
        just lost a race: two tabs refreshing at once stay signed in), when it gets the
        family's current refresh token; each such answer is a `refresh_grace_used` event."""
        keys = self.keys
        parsed = keys.parse_refresh_token(refresh_token)
        family = await self.sessions.get(parsed[0]) if parsed else None
        if (
            parsed is None
            or family is None
            or not keys.authentic_refresh(refresh_token, family.salt)
        ):
            raise Unauthorized("The refresh token is not valid.")
        family_id, generation = parsed
        now = self.clock.now()
        if generation == family.generation:
            new_token = keys.refresh_token(family_id, generation + 1, family.salt)
            if await self.sessions.advance(
                family_id,
                generation,
                keys.token_hash(new_token),
                now,
                now + timedelta(seconds=self.policy.refresh_ttl_s),
            ):
                return await self.issuer.pair(family.user_id, family_id, new_token)
            family = await self.sessions.get(family_id)  # a concurrent refresh won the race
            if family is None:
                raise Unauthorized("The refresh token is not valid.")
        in_grace = now - family.rotated_at <= timedelta(seconds=self.policy.refresh_grace_s)
        if (
            generation == family.generation - 1
            and in_grace
            and await self.sessions.take_grace(family_id, family.generation)
        ):
            # the party that just lost the race, once: a second presentation is a reuse
            self.events.warn(
                "refresh_grace_used",
                user_id=family.user_id,
                session_id=family_id,
                generation=family.generation,
            )
            current = keys.refresh_token(family_id, family.generation, family.salt)
            return await self.issuer.pair(family.user_id, family_id, current)
        await self.sessions.revoke(family_id)
        await self.revoked.revoke([family_id])  # the thief's access token dies with it
        self.events.warn("token_reused", user_id=family.user_id, session_id=family_id)
        raise TokenReused()

    async def logout(self, user_id: str, refresh_token: str) -> None:
        """Revoke the session of `refresh_token` if it is the caller's; quietly otherwise.
        Its access tokens are refused and its sockets closed, on every instance."""
        parsed = self.keys.parse_refresh_token(refresh_token)
        family = await self.sessions.get(parsed[0]) if parsed else None
        if family is not None and family.user_id == user_id:
            await self.sessions.revoke(family.id)
            await self.revoked.revoke([family.id])
            self.events.record("logout", user_id=user_id, session_id=family.id)

    async def of_user(self, user_id: str) -> list[SessionFamily]:
        """The user's sessions, newest first."""
        families = await self.sessions.for_user(user_id)
        return sorted(families, key=lambda f: (f.created_at, f.id), reverse=True)

    async def end(self, user_id: str, session_id: str) -> None:
        """End one of the user's sessions (as its logout would): `NotFound` for any other."""
        family = await self.sessions.get(session_id)
        if family is None or family.user_id != user_id:
            raise NotFound("No such session.")
        await self.sessions.revoke(family.id)
        await self.revoked.revoke([family.id])
        self.events.record("session_ended", user_id=user_id, session_id=family.id)

    async def logout_all(self, user_id: str) -> None:
        await self.revoked.revoke(await self.sessions.revoke_all(user_id))
        self.events.record("logout_all", user_id=user_id)
