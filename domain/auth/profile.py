"""The signed-in user's own profile (GET/PATCH /users/me), and the names of the users they
share a room with (GET /users?ids=...)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.auth.model import PROFILES_ASKED_MAX, PublicProfile, UserProfile
from domain.errors import NotFound
from ports.chat import RoomRepository
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


@dataclass(slots=True)
class PeerProfiles:
    """Other users' public profiles, for those who share a room with the caller (the caller
    included) or an invitation: the members and invitees of the caller's rooms, and the
    members of the rooms the caller is invited to (who is asking them in). Unknown and
    unrelated ids are left out alike, so an answer never tells whether an id exists. Two rooms
    reads and one users read, whatever the number of ids."""

    users: UserRepository
    rooms: RoomRepository

    async def related(self, user_id: str, user_ids: Sequence[str]) -> list[PublicProfile]:
        """The public profiles of those of `user_ids` (at most `PROFILES_ASKED_MAX`; the wire
        refuses more, the rest is ignored here) who share a room with `user_id`, each once, in
        the order first asked."""
        wanted = list(dict.fromkeys(user_ids))[:PROFILES_ASKED_MAX]
        if not wanted:
            return []
        rooms = await self.rooms.for_member(user_id)
        invited_to = await self.rooms.invited_to(user_id)
        related = {user_id} | {u for r in rooms for u in (*r.member_ids, *r.invited_ids)}
        related |= {m for r in invited_to for m in r.member_ids}
        allowed = [u for u in wanted if u in related]
        if not allowed:
            return []
        found = {u.id: u for u in await self.users.get_many(allowed)}
        return [found[u].public() for u in allowed if u in found]
