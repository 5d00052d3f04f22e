"""The signed-in user's own profile (GET/PATCH /users/me: name and avatar), and the public
profiles of the users they share a room with (GET /users?ids=...)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from domain.auth.avatars import Avatars
from domain.auth.model import PROFILES_ASKED_MAX, PublicProfile, User, UserProfile
from domain.chat.model import Room
from domain.errors import NotFound
from ports.chat import RoomRepository
from ports.clock import Clock
from ports.users import UserRepository


class Keep(Enum):
    """An update's "leave this as it is" (None clears an avatar)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(slots=True)
class Profiles:
    users: UserRepository
    clock: Clock
    avatars: Avatars

    async def me(self, user_id: str) -> UserProfile:
        return await self._profile(await self._user(user_id))

    async def rename(self, user_id: str, name: str) -> UserProfile:
        return await self.update(user_id, name=name)

    async def update(
        self, user_id: str, *, name: str | None = None, avatar_file_id: str | Keep | None = KEEP
    ) -> UserProfile:
        """Rename (a `name`) and set the avatar (a ready image file of the user's, made public
        here) or clear it (None); the file is checked before anything changes. Clearing, or
        choosing another, leaves the former file public: it may be in use elsewhere
        (PATCH /files/{id} makes it private)."""
        user = await self._user(user_id)
        token = None
        if isinstance(avatar_file_id, str):
            token = await self.avatars.publish(user_id, avatar_file_id)
        now = self.clock.now()
        changed = user
        if name is not None:
            changed = changed.renamed(name, now)
        if avatar_file_id is not KEEP:
            changed = changed.with_avatar(avatar_file_id, token, now)
        if changed is not user:
            await self.users.save(changed)
        return await self._profile(changed)

    async def _user(self, user_id: str) -> User:
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound("The user no longer exists.")
        return user

    async def _profile(self, user: User) -> UserProfile:
        return user.profile((await self.avatars.urls([user])).get(user.id))


@dataclass(slots=True)
class PeerProfiles:
    """Other users' public profiles, for those who share a room with the caller (the caller
    included) or an invitation: the members and invitees of the caller's rooms, and the
    members of the rooms the caller is invited to, by id or by their verified address (who is
    asking them in). Unknown and unrelated ids are left out alike, so an answer never tells
    whether an id exists. A few rooms reads (the address's invitations add one, and a read of
    the caller), one users read and (when any of them has an avatar) one files read, whatever
    the number of ids."""

    users: UserRepository
    rooms: RoomRepository
    avatars: Avatars
    # the rooms a user is invited to, by id or by their verified address (ChatService's)
    invitations: Callable[[str], Awaitable[list[Room]]]

    async def related(self, user_id: str, user_ids: Sequence[str]) -> list[PublicProfile]:
        """The public profiles of those of `user_ids` (at most `PROFILES_ASKED_MAX`; the wire
        refuses more, the rest is ignored here) who share a room with `user_id`, each once, in
        the order first asked."""
        wanted = list(dict.fromkeys(user_ids))[:PROFILES_ASKED_MAX]
        if not wanted:
            return []
        rooms = await self.rooms.for_member(user_id)
        invited_to = await self.invitations(user_id)
        related = {user_id} | {u for r in rooms for u in (*r.member_ids, *r.invited_ids)}
        related |= {m for r in invited_to for m in r.member_ids}
        allowed = [u for u in wanted if u in related]
        if not allowed:
            return []
        found = {u.id: u for u in await self.users.get_many(allowed)}
        urls = await self.avatars.urls(found.values())
        return [found[u].public(urls.get(u)) for u in allowed if u in found]
