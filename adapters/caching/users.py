"""A `UserRepository` that keeps short-lived copies of users read by id (`cache:user:<id>`).

Cache-aside around any repository: `get` reads the cache first and fills it on a miss;
`get_many` reads the repository only (one query, no copies); `save` writes through, then drops
the copy. The cache is only a shortcut: while it cannot be reached, reads go to the repository
and a copy that could not be dropped is served stale for at most its TTL once the cache is back.
The copy holds the whole record, password hash included, as the database does; it lives as
long as `ttl_s`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from contextlib import suppress
from datetime import datetime

from domain.auth.model import User
from domain.errors import ServiceUnavailable
from ports.cache import Cache
from ports.users import UserRepository

log = logging.getLogger("flowhub.auth")


def cache_key(user_id: str) -> str:
    return f"cache:user:{user_id}"


class CachedUserRepository:
    def __init__(self, users: UserRepository, cache: Cache, ttl_s: int = 300) -> None:
        self._users = users
        self._cache = cache
        self._ttl_s = ttl_s

    async def add(self, user: User) -> None:
        await self._users.add(user)

    async def get(self, user_id: str) -> User | None:
        try:
            cached = await self._cache.get(cache_key(user_id))
        except ServiceUnavailable:
            cached = None
        if cached is not None:
            return _from_json(cached)
        user = await self._users.get(user_id)
        if user is not None:
            with suppress(ServiceUnavailable):
                await self._cache.set(cache_key(user_id), _to_json(user), self._ttl_s)
        return user

    async def get_many(self, user_ids: Collection[str]) -> list[User]:
        """Straight to the repository: one read there costs less than a cache read per id
        (the cache has no multi-get), and it is never stale."""
        return await self._users.get_many(user_ids)

    async def by_email(self, email: str) -> User | None:
        return await self._users.by_email(email)

    async def save(self, user: User) -> None:
        await self._users.save(user)
        await self._forget(user.id)

    async def replace_unverified(self, user: User) -> bool:
        replaced = await self._users.replace_unverified(user)
        if replaced:
            await self._forget(user.id)
        return replaced

    async def search(self, text: str, offset: int, limit: int) -> list[User]:
        return await self._users.search(text, offset, limit)

    async def count(self) -> int:
        return await self._users.count()

    async def delete(self, user_id: str) -> None:
        await self._users.delete(user_id)
        await self._forget(user_id)

    async def _forget(self, user_id: str) -> None:
        try:
            await self._cache.delete(cache_key(user_id))
        except ServiceUnavailable:
            log.warning("could not invalidate the cached user %s", user_id)


def _to_json(user: User) -> bytes:
    return json.dumps(
        {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "password_hash": user.password_hash,
            "email_verified": user.email_verified,
            "created_at": user.created_at.isoformat(),
            "updated_at": user.updated_at.isoformat(),
            "avatar_file_id": user.avatar_file_id,
            "avatar_token": user.avatar_token,
            "disabled": user.disabled,
        }
    ).encode()


def _from_json(raw: bytes) -> User:
    data = json.loads(raw)
    return User(
        data["id"],
        data["email"],
        data["name"],
        data["password_hash"],
        data["email_verified"],
        datetime.fromisoformat(data["created_at"]),
        datetime.fromisoformat(data["updated_at"]),
        # a copy written before avatars existed has none (and lives at most `ttl_s`)
        data.get("avatar_file_id"),
        data.get("avatar_token"),
        bool(data.get("disabled", False)),  # absent in copies cached before the field
    )
