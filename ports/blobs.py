from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from typing import Protocol

from domain.files.model import BlobInfo, PresignedPost, UploadedPart


class BlobStorage(Protocol):
    """File contents by key (object storage). Keys are made of opaque ids only."""

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], content_type: str, max_bytes: int
    ) -> int:
        """Store the stream under `key` without holding all of it in memory; return its size.

        More than `max_bytes` raises `PayloadTooLarge` as soon as it is seen. Whatever goes
        wrong (that, or an exception raised by `chunks` itself, which is re-raised), nothing
        is stored under `key`."""
        ...

    async def head(self, key: str) -> BlobInfo | None: ...

    async def read(self, key: str, offset: int, length: int) -> bytes:
        """Up to `length` bytes from `offset` (fewer at the end); b"" for a missing object."""
        ...

    async def promote(self, source_key: str, key: str) -> BlobInfo | None:
        """Move the object at `source_key` to `key` (a copy made by the storage, then the
        source deleted) and return what is now at `key`; None when there is no source.

        A direct upload lands on a staging key and the app promotes it once checked, so
        whatever is posted to the staging key later never reaches what the app serves."""
        ...

    async def publish(self, key: str, public_key: str) -> BlobInfo | None:
        """Copy the object at `key` to `public_key` (a copy made by the storage) and return
        what is now there; None when there is nothing at `key`.

        `public_key` starts with `public/`. An object there is readable by anyone, without a
        token, at `public_url(public_key)`, served with its content type and
        `Cache-Control: public, max-age=31536000, immutable` (`PUBLIC_CACHE_CONTROL`): the
        caller never writes other bytes under the same public key. `delete(public_key)` makes
        it unreadable again (for the storage; a CDN may still hold a copy)."""
        ...

    def public_url(self, public_key: str) -> str:
        """The stable, unsigned URL of a published object (absolute, or a path on this
        server for the development storage)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; nothing happens when there is none."""
        ...

    async def presign_get(
        self, key: str, filename: str, content_type: str, expires_in_s: int
    ) -> str:
        """A URL anyone holding it can GET for `expires_in_s` seconds; the response is an
        attachment named `filename` (Content-Disposition with RFC 5987's `filename*`)."""
        ...

    async def presign_post(
        self, key: str, content_type: str, min_bytes: int, max_bytes: int, expires_in_s: int
    ) -> PresignedPost:
        """A form upload to `key` that the storage itself accepts only within
        `expires_in_s`, with exactly this Content-Type and a size in [min_bytes, max_bytes]."""
        ...

    # multipart uploads: a client PUTs the parts straight to storage ------------------------

    async def start_multipart(self, key: str, content_type: str) -> str:
        """Begin a multipart upload to `key` of an object of `content_type`; its upload id.
        Nothing is at `key` until `complete_multipart`."""
        ...

    async def presign_part(
        self, key: str, upload_id: str, part_number: int, size: int, expires_in_s: int
    ) -> str:
        """A URL anyone holding it can PUT part `part_number` (1..10,000) of the upload to,
        within `expires_in_s`, as a body of `size` bytes; the answer's `ETag` header names
        what arrived. PUTting the same part again replaces it."""
        ...

    async def list_parts(self, key: str, upload_id: str) -> list[UploadedPart] | None:
        """The parts that arrived, by part number; None when there is no such upload (never
        started, completed or aborted)."""
        ...

    async def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]
    ) -> BlobInfo | None:
        """Assemble the listed `(part_number, etag)` parts, in increasing order, into the
        object at `key` (the upload then ends) and return what is now there; None when there
        is no such upload. `InvalidPart` when a part is not there or its ETag is another;
        `EntityTooSmall` when a part but the last is under 5 MiB. Completing an upload twice
        is undefined (S3 may accept a retry): a caller checks for the object first."""
        ...

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop the upload and its parts; nothing happens when there is no such upload."""
        ...
