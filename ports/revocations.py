from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Protocol

type RevocationsHeard = Callable[[Mapping[str, datetime]], Awaitable[None]]


class RevocationFeed(Protocol):
    """Session revocations shared by the instances of a deployment: each maps a session id to
    the moment its last access token has expired for sure (nothing to refuse after that)."""

    async def publish(self, revoked: Mapping[str, datetime]) -> None:
        """Tell the other instances (pushed, so no instance reads a store per request) and keep
        the revocations for the instances that start before they lapse. Best effort: a store
        that cannot be reached is logged, never raised (the revoking instance knows already)."""
        ...

    async def kept(self) -> Mapping[str, datetime]:
        """What is revoked and not yet lapsed (read once, at the instance's first use); empty
        when the store cannot say (logged)."""
        ...

    def subscribe(self, heard: RevocationsHeard) -> None:
        """`heard` gets what the other instances revoke, and what `kept` would answer each
        time this instance rejoins them (after an outage it missed their pushes)."""
        ...
