from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from domain.auth.model import SessionFamily


class SessionRepository(Protocol):
    """Refresh-token families. Expired families disappear by themselves (a TTL index)."""

    async def add(self, family: SessionFamily) -> None: ...

    async def get(self, family_id: str) -> SessionFamily | None:
        """The family, or None when it does not exist, was revoked or has expired."""
        ...

    async def advance(
        self,
        family_id: str,
        from_generation: int,
        current_hash: str,
        rotated_at: datetime,
        expires_at: datetime,
    ) -> bool:
        """Rotate atomically: only if the family is still at `from_generation`, move it to the
        next generation with `current_hash`, keeping the old current hash as `previous_hash`.
        False when another rotation won the race (or the family is gone)."""
        ...

    async def take_grace(self, family_id: str, generation: int) -> bool:
        """Spend the refresh grace of `generation` atomically: True for the first call while
        the family is at `generation`, False for every later one (a party already answered
        the spent token), or when the family moved on or is gone."""
        ...

    async def for_user(self, user_id: str) -> list[SessionFamily]:
        """The user's families that have not expired (any order)."""
        ...

    async def revoke(self, family_id: str) -> None: ...

    async def revoke_all(self, user_id: str) -> list[str]:
        """Revoke every family of the user; returns their ids (their access tokens are
        refused from then on: domain/auth/revocations.py)."""
        ...

    async def count_by_user(self, user_ids: Collection[str]) -> dict[str, int]:
        """How many unexpired families each of `user_ids` has (0 for none), in one read."""
        ...
