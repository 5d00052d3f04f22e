from __future__ import annotations

from collections.abc import Collection

from domain.auth.errors import EmailTaken
from domain.auth.model import User


class MemoryUserRepository:
    def __init__(self) -> None:
        self._by_id: dict[str, User] = {}
        self._id_by_email: dict[str, str] = {}

    async def add(self, user: User) -> None:
        if user.email in self._id_by_email:
            raise EmailTaken()
        self._by_id[user.id] = user
        self._id_by_email[user.email] = user.id

    async def get(self, user_id: str) -> User | None:
        return self._by_id.get(user_id)

    async def get_many(self, user_ids: Collection[str]) -> list[User]:
        return [self._by_id[u] for u in dict.fromkeys(user_ids) if u in self._by_id]

    async def by_email(self, email: str) -> User | None:
        user_id = self._id_by_email.get(email)
        return self._by_id.get(user_id) if user_id else None

    async def save(self, user: User) -> None:
        old = self._by_id.get(user.id)
        if old is None:
            return
        if old.email != user.email:
            if user.email in self._id_by_email:
                raise EmailTaken()
            del self._id_by_email[old.email]
            self._id_by_email[user.email] = user.id
        self._by_id[user.id] = user

    async def replace_unverified(self, user: User) -> bool:
        old = self._by_id.get(user.id)
        if old is None or old.email_verified or old.email != user.email:
            return False
        self._by_id[user.id] = user
        return True

    async def search(self, text: str, offset: int, limit: int) -> list[User]:
        email, name = text.lower(), text.casefold()
        found = [
            u
            for u in self._by_id.values()
            if u.email.startswith(email) or name in u.name.casefold()
        ]
        found.sort(key=lambda u: (u.created_at, u.id), reverse=True)
        return found[offset : offset + limit]

    async def count(self) -> int:
        return len(self._by_id)

    async def delete(self, user_id: str) -> None:
        user = self._by_id.pop(user_id, None)
        if user is not None:
            self._id_by_email.pop(user.email, None)
