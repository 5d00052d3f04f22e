"""File entities and value objects: stored files' metadata, blobs, presigned uploads."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

# What a client may send: a name is cut to NAME_MAX (names.py) after these bounds; the listing
# clamps its page size to the policy's `list_max`, at most LIST_MAX.
NAME_INPUT_MAX = 1000
CONTENT_TYPE_MAX = 200
CURSOR_MAX = 200
LIST_MAX = 100


class FileStatus(StrEnum):
    PENDING = "pending"  # announced for a direct upload, bytes not (yet) verified
    READY = "ready"
    DELETING = "deleting"  # marked for deletion: invisible, its object is being removed


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file's metadata. The bytes live in blob storage under `object_key`, which is made of
    opaque ids only, never of anything the user chose."""

    id: str
    owner_id: str
    name: str
    size: int
    content_type: str
    status: FileStatus
    object_key: str
    created_at: datetime
    expires_at: datetime | None = None  # pending uploads only: when they are given up

    def ready(self) -> StoredFile:
        return replace(self, status=FileStatus.READY, expires_at=None)

    def deleting(self) -> StoredFile:
        return replace(self, status=FileStatus.DELETING)

    def visible_at(self, now: datetime) -> bool:
        """What the owner can see: ready files, and pending ones that have not expired."""
        if self.status is FileStatus.READY:
            return True
        return self.status is FileStatus.PENDING and (
            self.expires_at is None or self.expires_at > now
        )


@dataclass(frozen=True, slots=True)
class FileCursor:
    """Where a newest-first listing stopped: the last file's creation time and id."""

    created_at: datetime
    file_id: str


@dataclass(frozen=True, slots=True)
class FilePage:
    items: list[StoredFile]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class StorageQuota:
    """What one user may keep: bytes and files, pending direct uploads included."""

    max_bytes: int
    max_files: int


@dataclass(frozen=True, slots=True)
class BlobInfo:
    size: int
    content_type: str | None


@dataclass(frozen=True, slots=True)
class PresignedPost:
    """A browser-style form upload straight to storage: POST multipart/form-data to `url`
    with every entry of `fields` first, then the file as the field `file`."""

    url: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DirectUpload:
    url: str
    method: str
    fields: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class UploadTicket:
    file: StoredFile
    upload: DirectUpload


@dataclass(frozen=True, slots=True)
class Download:
    file: StoredFile
    url: str
    expires_at: datetime
