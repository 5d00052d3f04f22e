from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from domain.auth.model import User


class UserRepository(Protocol):
    """Users by id and by normalized email; an email belongs to at most one user."""

    async def add(self, user: User) -> None:
        """Store a new user; raises `EmailTaken` when the email already has one."""
        ...

    async def get(self, user_id: str) -> User | None: ...

    async def get_many(self, user_ids: Collection[str]) -> list[User]:
        """The users among `user_ids` that exist, each once, in no particular order; ids
        without a user are left out. One read of the store, however many ids."""
        ...

    async def by_email(self, email: str) -> User | None: ...

    async def save(self, user: User) -> None:
        """Replace the stored user that has `user.id`."""
        ...

    async def replace_unverified(self, user: User) -> bool:
        """Replace the stored user that has `user.id` only while it is still unverified
        (another signup's registration, which belongs to nobody yet); False when it was
        verified meanwhile (or is gone), and then nothing changes."""
        ...

    async def search(self, text: str, offset: int, limit: int) -> list[User]:
        """Users whose email starts with `text` (compared lower-cased: emails are stored
        normalized) or whose name contains it (any case); every user for an empty `text`.
        Newest first (ties by id), `limit` of them from `offset`."""
        ...

    async def count(self) -> int: ...

    async def delete(self, user_id: str) -> None:
        """Remove the user (its email is free again); nothing happens when there is none."""
        ...
