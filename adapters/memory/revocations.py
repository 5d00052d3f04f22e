"""The revocation feed of an instance without Redis (development, tests): there is no other
instance to tell, so what the instance itself remembers (domain/auth/revocations.py) is the
whole of it (and nothing outlives the process). Records what it was told (tests read
`published`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ports.revocations import RevocationsHeard


class LoneRevocationFeed:
    def __init__(self) -> None:
        self.published: list[dict[str, datetime]] = []

    async def publish(self, revoked: Mapping[str, datetime]) -> None:
        self.published.append(dict(revoked))

    async def kept(self) -> Mapping[str, datetime]:
        return {}

    def subscribe(self, heard: RevocationsHeard) -> None:
        """Nothing is ever heard: no other instance revokes anything."""
