"""The odmantic model of `files` (metadata only; the bytes are in blob storage).

Imported only when the repository first talks to MongoDB, like adapters/mongo/documents.py.
"""

from __future__ import annotations

from datetime import datetime

from odmantic import Field, Model
from odmantic.config import ODMConfigDict
from pymongo import ASCENDING, DESCENDING, IndexModel

from adapters.mongo.support import loaded_datetime, stored_datetime
from domain.files.model import FileStatus, StoredFile

# How long after its expiry MongoDB's TTL monitor drops a pending record by itself: the
# service's sweep removes the record's object first, and this is the backstop behind it.
PENDING_PURGE_AFTER_S = 24 * 3600


def _file_indexes() -> list[IndexModel]:
    return [
        IndexModel(
            [("owner_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="owner_newest_first",
        ),
        # Only pending files have `expires_at` (ready ones hold null, which a TTL index skips).
        IndexModel(
            [("expires_at", ASCENDING)],
            name="pending_expires_at_ttl",
            expireAfterSeconds=PENDING_PURGE_AFTER_S,
        ),
    ]


class FileDocument(Model):
    model_config = ODMConfigDict(collection="files", indexes=_file_indexes)

    id: str = Field(primary_field=True)
    owner_id: str
    name: str
    size: int
    content_type: str
    status: str
    object_key: str
    created_at: datetime
    expires_at: datetime | None

    @classmethod
    def of(cls, file: StoredFile) -> FileDocument:
        return cls.model_validate(
            {
                "id": file.id,
                "owner_id": file.owner_id,
                "name": file.name,
                "size": file.size,
                "content_type": file.content_type,
                "status": file.status.value,
                "object_key": file.object_key,
                "created_at": stored_datetime(file.created_at),
                "expires_at": None if file.expires_at is None else stored_datetime(file.expires_at),
            }
        )

    def to_domain(self) -> StoredFile:
        return StoredFile(
            id=self.id,
            owner_id=self.owner_id,
            name=self.name,
            size=self.size,
            content_type=self.content_type,
            status=FileStatus(self.status),
            object_key=self.object_key,
            created_at=loaded_datetime(self.created_at),
            expires_at=None if self.expires_at is None else loaded_datetime(self.expires_at),
        )
