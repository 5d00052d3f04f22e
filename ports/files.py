from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.files.model import FileCursor, FilesOverview, StorageQuota, StoredFile


class FileRepository(Protocol):
    """Files' metadata (never their contents).

    A pending file whose `expires_at` has passed is gone for `get` and `list_by_owner`; it is
    still returned by `expired_uploads` until it is deleted, so its object can be removed first
    (a store may also drop such records by itself a while later, e.g. a TTL index)."""

    async def add(self, file: StoredFile) -> None: ...

    async def get(self, file_id: str) -> StoredFile | None: ...

    async def get_many(self, file_ids: Sequence[str]) -> dict[str, StoredFile]:
        """The files of `file_ids` that `get` would answer, by id, in one read of the store
        (unknown ids, and pending files past their expiry, are absent)."""
        ...

    async def list_by_owner(
        self, owner_id: str, limit: int, after: FileCursor | None = None
    ) -> list[StoredFile]:
        """The owner's ready and unexpired pending files, newest first (ties by id,
        descending), starting after `after`."""
        ...

    async def update(self, file: StoredFile) -> None:
        """Replace the stored file that has `file.id`; nothing happens when there is none."""
        ...

    async def set_public_token(self, file_id: str, expected: str | None, token: str | None) -> bool:
        """Set the ready file's `public_token` to `token` when it is `expected` now (None:
        private), and say whether it did. Atomic in the store: of two changes made at once
        from the same state, one wins and the other is told it did not."""
        ...

    async def delete(self, file_id: str) -> None: ...

    async def expired_uploads(self, limit: int) -> list[StoredFile]:
        """Pending files whose `expires_at` has passed, oldest expiry first."""
        ...

    async def reserve(self, owner_id: str, size: int, quota: StorageQuota, files: int = 1) -> bool:
        """Count `files` more files (0: bytes only, e.g. a ready file's thumbnails) of `size`
        bytes in the owner's usage when it stays within `quota`, and say whether it did.
        Atomic in the store: reservations made at once, from any number of instances, never
        exceed the quota together."""
        ...

    async def release(self, owner_id: str, size: int, files: int = 1) -> None:
        """Take `files` files of `size` bytes off the owner's usage (never below zero)."""
        ...

    async def every_of_owner(self, owner_id: str, limit: int) -> list[StoredFile]:
        """At most `limit` of the owner's records of any status, expired pending uploads and
        files being deleted included (an account's deletion removes them all)."""
        ...

    async def forget_usage(self, owner_id: str) -> None:
        """Drop the owner's usage record. Idempotent."""
        ...

    async def overview(self, limit: int) -> FilesOverview:
        """Every ready file: how many, their bytes (`size` plus thumbnails), the `limit`
        largest by `size` and the `limit` newest (an administrator's view)."""
        ...
