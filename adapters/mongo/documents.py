"""The odmantic models of the MongoDB collections, and their mapping to domain objects.

Imported only when a repository first talks to MongoDB: odmantic (with pydantic and pymongo)
costs ~250 ms to import, which no process that serves from memory should pay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from odmantic import Field, Model
from odmantic.config import ODMConfigDict
from pymongo import ASCENDING, IndexModel

from adapters.mongo.support import loaded_datetime, stored_datetime
from domain.auth.model import SessionFamily, User


class UserDocument(Model):
    """`users`: one per account; `email` is stored normalized (the domain does that) and unique."""

    model_config = ODMConfigDict(collection="users")

    id: str = Field(primary_field=True)
    email: str = Field(unique=True)
    name: str
    password_hash: str
    email_verified: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserDocument:
        return cls.model_validate(
            {
                "id": user.id,
                "email": user.email,
                "name": user.name,
                "password_hash": user.password_hash,
                "email_verified": user.email_verified,
                "created_at": stored_datetime(user.created_at),
                "updated_at": stored_datetime(user.updated_at),
            }
        )

    def to_domain(self) -> User:
        return User(
            id=self.id,
            email=self.email,
            name=self.name,
            password_hash=self.password_hash,
            email_verified=self.email_verified,
            created_at=loaded_datetime(self.created_at),
            updated_at=loaded_datetime(self.updated_at),
        )


def _session_indexes() -> list[IndexModel]:
    # expireAfterSeconds=0: MongoDB's TTL monitor (every 60 s) deletes a family once its
    # `expires_at` has passed; reads filter on `expires_at` for the time in between.
    return [IndexModel([("expires_at", ASCENDING)], name="expires_at_ttl", expireAfterSeconds=0)]


class SessionDocument(Model):
    """`sessions`: one refresh-token family per login."""

    model_config = ODMConfigDict(collection="sessions", indexes=_session_indexes)

    id: str = Field(primary_field=True)
    user_id: str = Field(index=True)
    salt: str
    generation: int
    current_hash: str
    previous_hash: str | None
    created_at: datetime
    rotated_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, family: SessionFamily) -> SessionDocument:
        return cls.model_validate(
            {
                "id": family.id,
                "user_id": family.user_id,
                "salt": family.salt,
                "generation": family.generation,
                "current_hash": family.current_hash,
                "previous_hash": family.previous_hash,
                "created_at": stored_datetime(family.created_at),
                "rotated_at": stored_datetime(family.rotated_at),
                "expires_at": stored_datetime(family.expires_at),
            }
        )

    def to_domain(self) -> SessionFamily:
        return SessionFamily(
            id=self.id,
            user_id=self.user_id,
            salt=self.salt,
            generation=self.generation,
            current_hash=self.current_hash,
            previous_hash=self.previous_hash,
            created_at=loaded_datetime(self.created_at),
            rotated_at=loaded_datetime(self.rotated_at),
            expires_at=loaded_datetime(self.expires_at),
        )


def document(model: Model) -> dict[str, Any]:
    """The BSON-ready document of a model (`_id` for the primary field)."""
    return model.model_dump_doc()
