from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from domain.files.model import FileCursor, FilesOverview, FileStatus, StorageQuota, StoredFile
from ports.clock import Clock


class MemoryFileRepository:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._files: dict[str, StoredFile] = {}
        self._usage: dict[str, tuple[int, int]] = {}  # owner -> (bytes, files)

    async def add(self, file: StoredFile) -> None:
        self._files[file.id] = file

    async def get(self, file_id: str) -> StoredFile | None:
        file = self._files.get(file_id)
        if file is None or _expired(file, self._clock):
            return None
        return file

    async def get_many(self, file_ids: Sequence[str]) -> dict[str, StoredFile]:
        found = {i: self._files.get(i) for i in file_ids}
        return {i: f for i, f in found.items() if f is not None and not _expired(f, self._clock)}

    async def list_by_owner(
        self, owner_id: str, limit: int, after: FileCursor | None = None
    ) -> list[StoredFile]:
        now = self._clock.now()
        mine = [f for f in self._files.values() if f.owner_id == owner_id and f.visible_at(now)]
        mine.sort(key=lambda f: (f.created_at, f.id), reverse=True)
        if after is not None:
            mine = [f for f in mine if (f.created_at, f.id) < (after.created_at, after.file_id)]
        return mine[:limit]

    async def update(self, file: StoredFile) -> None:
        if file.id in self._files:
            self._files[file.id] = file

    async def set_public_token(self, file_id: str, expected: str | None, token: str | None) -> bool:
        # no await between the read and the write: atomic on the event loop
        found = self._files.get(file_id)
        if found is None or found.status is not FileStatus.READY or found.public_token != expected:
            return False
        self._files[file_id] = replace(found, public_token=token)
        return True

    async def delete(self, file_id: str) -> None:
        self._files.pop(file_id, None)

    async def reserve(self, owner_id: str, size: int, quota: StorageQuota, files: int = 1) -> bool:
        # no await between the read and the write: atomic on the event loop
        used, count = self._usage.get(owner_id, (0, 0))
        if used + size > quota.max_bytes or count + files > quota.max_files:
            return False
        self._usage[owner_id] = (used + size, count + files)
        return True

    async def release(self, owner_id: str, size: int, files: int = 1) -> None:
        used, count = self._usage.get(owner_id, (0, 0))
        if used >= size and count >= files:
            self._usage[owner_id] = (used - size, count - files)

    async def every_of_owner(self, owner_id: str, limit: int) -> list[StoredFile]:
        return [f for f in self._files.values() if f.owner_id == owner_id][:limit]

    async def forget_usage(self, owner_id: str) -> None:
        self._usage.pop(owner_id, None)

    async def overview(self, limit: int) -> FilesOverview:
        ready = [f for f in self._files.values() if f.status is FileStatus.READY]
        largest = sorted(ready, key=lambda f: (f.size, f.id), reverse=True)[:limit]
        recent = sorted(ready, key=lambda f: (f.created_at, f.id), reverse=True)[:limit]
        total = sum(f.size + f.thumbnail_bytes for f in ready)
        return FilesOverview(len(ready), total, tuple(largest), tuple(recent))

    async def expired_uploads(self, limit: int) -> list[StoredFile]:
        expired = [f for f in self._files.values() if _expired(f, self._clock)]
        expired.sort(key=lambda f: (f.expires_at, f.id))
        return expired[:limit]


def _expired(file: StoredFile, clock: Clock) -> bool:
    return (
        file.status is FileStatus.PENDING
        and file.expires_at is not None
        and file.expires_at <= clock.now()
    )
