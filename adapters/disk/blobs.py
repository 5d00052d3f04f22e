"""Blob storage in a directory of this machine, for `make dev` (FILES_DIR): uploaded files
survive a restart of the server without S3 or an S3 stand-in.

It is the memory adapter (adapters/memory/blobs.py) with its objects kept in files, so its
presigned URLs are the same signed, expiring links the app itself serves
(entrypoints/http/blobs.py) and held to the same POST policy. One file per key, named by the
key's SHA-256, holding the content type on its first line and then the bytes. A write goes to
a temporary file renamed over the target (`os.replace`, atomic on one file system), so a reader
sees the old object or the new one and a failed upload leaves nothing behind; promotion is one
rename. The calls block for the few milliseconds a file of at most MAX_UPLOAD_BYTES takes on a
local disk: a development convenience, never a production store (production requires S3).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path

from adapters.memory.blobs import DEFAULT_BASE_PATH, MemoryBlobStorage, StoredObject
from domain.files.model import BlobInfo
from ports.clock import Clock

_SUFFIX = ".blob"


class DiskBlobStorage(MemoryBlobStorage):
    def __init__(
        self, directory: Path, secret: str, clock: Clock, base_path: str = DEFAULT_BASE_PATH
    ) -> None:
        super().__init__(secret, clock, base_path)
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def head(self, key: str) -> BlobInfo | None:
        try:
            with self._path(key).open("rb") as f:
                content_type = f.readline()
                size = os.fstat(f.fileno()).st_size - len(content_type)
        except FileNotFoundError:
            return None
        return BlobInfo(size, content_type.decode().rstrip("\n"))

    async def read(self, key: str, offset: int, length: int) -> bytes:
        try:
            with self._path(key).open("rb") as f:
                f.readline()
                f.seek(offset, os.SEEK_CUR)
                return f.read(length)
        except FileNotFoundError:
            return b""

    async def promote(self, source_key: str, key: str) -> BlobInfo | None:
        try:
            os.replace(self._path(source_key), self._path(key))
        except FileNotFoundError:
            return None
        return await self.head(key)

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    # where the objects are kept ----------------------------------------------------------

    def _find(self, key: str) -> StoredObject | None:
        try:
            raw = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        content_type, _, data = raw.partition(b"\n")
        return StoredObject(data, content_type.decode())

    def _keep(self, key: str, found: StoredObject) -> None:
        target = self._path(key)
        partial = target.with_name(f"{target.name}.{secrets.token_hex(6)}.partial")
        try:
            with partial.open("wb") as f:
                f.write(found.content_type.encode() + b"\n")
                f.write(found.data)
            os.replace(partial, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()

    def _take(self, key: str) -> StoredObject | None:
        found = self._find(key)
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()
        return found

    def _path(self, key: str) -> Path:
        return self.directory / (hashlib.sha256(key.encode()).hexdigest() + _SUFFIX)


class DiskProbe:
    """Up while the storage's directory can be written."""

    name = "storage"
    adapter = "disk"

    def __init__(self, storage: DiskBlobStorage) -> None:
        self._directory = storage.directory

    async def check(self) -> None:
        if not os.access(self._directory, os.W_OK | os.X_OK):
            raise OSError(f"{self._directory} is not a writable directory")
