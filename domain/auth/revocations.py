"""Revoked sessions, as every instance knows them.

A revoked session (a logout, logout-all, a password reset, a refresh token reused) keeps
access tokens that are valid for up to their lifetime. Each instance holds the ids of the
sessions revoked within that lifetime in memory: their access tokens are refused (HTTP, a
socket's connect and events) and their sockets are disconnected. One dict lookup per request
and no store read: the feed pushes each revocation to the running instances and keeps it for
the ones that start later (docs/decisions/auth-security.md, "Revocations")."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta

from ports.clock import Clock
from ports.revocations import RevocationFeed

type SessionsEnded = Callable[[Sequence[str]], Awaitable[None]]

# how long past its lifetime an access token may still pass: another instance's clock may run
# ahead by as much (adapters/jwt/access_tokens.py accepts the same skew)
CLOCK_SKEW_S = 30
PRUNE_AT_LEAST = 256


class RevokedSessions:
    def __init__(self, feed: RevocationFeed, clock: Clock, token_ttl_s: int) -> None:
        self._feed = feed
        self._clock = clock
        self._keep = timedelta(seconds=token_ttl_s + CLOCK_SKEW_S)
        self._until: dict[str, datetime] = {}
        self._prune_at = PRUNE_AT_LEAST
        self._listeners: list[SessionsEnded] = []
        self._loaded = False
        self._loading = asyncio.Lock()
        feed.subscribe(self.heard)

    async def is_revoked(self, session_id: str) -> bool:
        """The first call reads what the feed kept (an instance just started, maybe woken by
        this very request, knows what was revoked before it); every later one is a lookup."""
        if not self._loaded:
            async with self._loading:
                if not self._loaded:
                    kept = await self._feed.kept()
                    self._loaded = True
                    await self.heard(kept)
        return self.known(session_id)

    def known(self, session_id: str) -> bool:
        """Revoked as far as this instance knows now (no read)."""
        until = self._until.get(session_id)
        return until is not None and until > self._clock.now()

    def on_ended(self, listener: SessionsEnded) -> None:
        """`listener` gets the ids of sessions newly revoked, here or on another instance."""
        self._listeners.append(listener)

    async def revoke(self, session_ids: Collection[str]) -> None:
        """This instance revoked them: refused here at once, then the others are told."""
        if not session_ids:
            return
        revoked = dict.fromkeys(session_ids, self._clock.now() + self._keep)
        await self.heard(revoked)
        await self._feed.publish(revoked)

    async def heard(self, revoked: Mapping[str, datetime]) -> None:
        """Revocations learned (from this instance, another one, or the feed at a (re)join)."""
        now = self._clock.now()
        if len(self._until) > self._prune_at:
            # lapsed ones dropped when the set has doubled since: a burst of logouts costs
            # amortized O(1) each, not a pass over every live revocation per logout
            self._until = {s: until for s, until in self._until.items() if until > now}
            self._prune_at = max(PRUNE_AT_LEAST, 2 * len(self._until))
        new = [s for s, until in revoked.items() if until > now and s not in self._until]
        for session_id, until in revoked.items():
            if until > self._until.get(session_id, now):
                self._until[session_id] = until
        if new:
            for listener in self._listeners:
                await listener(new)
