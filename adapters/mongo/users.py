"""Users in MongoDB (`users`, odmantic), unique by their normalized email."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.mongo.client import Engine
from adapters.mongo.support import document, entity, reachable
from domain.auth.errors import EmailTaken
from domain.auth.model import User
from domain.errors import Conflict

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from odmantic import Model
    from pymongo.errors import DuplicateKeyError

    from adapters.lifecycle import ManagedClient
    from adapters.mongo.client import MongoClient


def _models() -> Sequence[type[Model]]:
    from adapters.mongo.documents import UserDocument

    return [UserDocument]


class MongoUserRepository:
    def __init__(self, client: ManagedClient[MongoClient], database: str) -> None:
        self._engine = Engine(client, database, _models)

    async def ensure_indexes(self) -> None:
        """Create the unique index on `email` (idempotent); also done before first use."""
        await self._engine.ensure_indexes()

    async def add(self, user: User) -> None:
        from pymongo.errors import DuplicateKeyError

        from adapters.mongo.documents import UserDocument

        async with reachable():
            engine = await self._engine.get()
            try:
                await engine.get_collection(UserDocument).insert_one(document(UserDocument, user))
            except DuplicateKeyError as error:
                raise _conflict(error) from error

    async def get(self, user_id: str) -> User | None:
        from adapters.mongo.documents import UserDocument

        async with reachable():
            engine = await self._engine.get()
            found = await engine.find_one(UserDocument, UserDocument.id == user_id)
        return None if found is None else entity(User, found)

    async def get_many(self, user_ids: Collection[str]) -> list[User]:
        """One `find` with `_id: {$in: ids}`."""
        from adapters.mongo.documents import UserDocument

        wanted = list(dict.fromkeys(user_ids))
        if not wanted:
            return []
        async with reachable():
            engine = await self._engine.get()
            found = await engine.find(UserDocument, {"_id": {"$in": wanted}})
        return [entity(User, document) for document in found]

    async def by_email(self, email: str) -> User | None:
        from adapters.mongo.documents import UserDocument

        async with reachable():
            engine = await self._engine.get()
            found = await engine.find_one(UserDocument, UserDocument.email == email)
        return None if found is None else entity(User, found)

    async def save(self, user: User) -> None:
        """Replace the user with `user.id`; nothing happens when there is none (like the
        memory adapter: `add` creates users, `save` never does)."""
        from pymongo.errors import DuplicateKeyError

        from adapters.mongo.documents import UserDocument

        async with reachable():
            engine = await self._engine.get()
            try:
                await engine.get_collection(UserDocument).replace_one(
                    {"_id": user.id}, document(UserDocument, user)
                )
            except DuplicateKeyError as error:
                raise _conflict(error) from error

    async def replace_unverified(self, user: User) -> bool:
        """One conditional replace: the filter holds only while the stored user is unverified."""
        from adapters.mongo.documents import UserDocument

        async with reachable():
            engine = await self._engine.get()
            result = await engine.get_collection(UserDocument).replace_one(
                {"_id": user.id, "email": user.email, "email_verified": False},
                document(UserDocument, user),
            )
        return bool(result.matched_count)

    async def search(self, text: str, offset: int, limit: int) -> list[User]:
        """An anchored `$regex` on `email` (the unique index serves the prefix) or a
        case-insensitive one on `name`; both escaped, so the text is matched literally."""
        import re

        from odmantic.query import desc

        from adapters.mongo.documents import UserDocument

        query: dict[str, object] = {}
        if text:
            query = {
                "$or": [
                    {"email": {"$regex": "^" + re.escape(text.lower())}},
                    {"name": {"$regex": re.escape(text), "$options": "i"}},
                ]
            }
        newest = (desc(UserDocument.created_at), desc(UserDocument.id))
        async with reachable():
            engine = await self._engine.get()
            found = await engine.find(UserDocument, query, sort=newest, skip=offset, limit=limit)
        return [entity(User, document) for document in found]

    async def count(self) -> int:
        from adapters.mongo.documents import UserDocument

        async with reachable():
            engine = await self._engine.get()
            return int(await engine.get_collection(UserDocument).count_documents({}))

    async def delete(self, user_id: str) -> None:
        from adapters.mongo.documents import UserDocument

        async with reachable():
            engine = await self._engine.get()
            await engine.get_collection(UserDocument).delete_one({"_id": user_id})


def _conflict(error: DuplicateKeyError) -> Exception:
    """`EmailTaken` when the unique email index refused the write."""
    details = error.details or {}
    key_pattern = details.get("keyPattern") or {}
    if "email" in key_pattern or "email_1" in str(details.get("errmsg", "")):
        return EmailTaken()
    return Conflict("A user with this id already exists.")
