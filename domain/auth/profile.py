"""The signed-in user's own profile (GET/PATCH /users/me)."""

from __future__ import annotations

from dataclasses import dataclass

from domain.auth.model import UserProfile
from domain.errors import NotFound
from ports.clock import Clock
from ports.users import UserRepository


@dataclass(slots=True)
class Profiles:
    users: UserRepository
    clock: Clock

    async def me(self, user_id: str) -> UserProfile:
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound("The user no longer exists.")
        return user.profile()

    async def rename(self, user_id: str, name: str) -> UserProfile:
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound("The user no longer exists.")
        renamed = user.renamed(name, self.clock.now())
        await self.users.save(renamed)
        return renamed.profile()
