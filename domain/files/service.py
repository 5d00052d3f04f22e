"""Files (API.md "Files"): uploads through the API and straight to storage, listing,
downloads through presigned URLs, deletion. Bytes live in blob storage, metadata in the
repository; this service decides limits, types, ownership and states.

Ownership: another user's file is `NotFound`, exactly like a file that does not exist.
Types: a declared type must be allowed and must be what the bytes say (magic numbers); an
undeclared one (none, application/octet-stream) is taken from the bytes.
Quota: every file a user keeps, pending direct uploads included, is reserved against their
`StorageQuota` in the repository (atomically, so parallel uploads cannot pass it together)
and released when it goes. Uploads of either kind are also counted against an hourly rate,
well below the general API rate, so a full quota cannot be churned.
Direct uploads land on a staging key and are moved to the served key once checked, so bytes
posted again with the same presigned form never replace what was verified. A multipart direct
upload (files up to `multipart_max_bytes`) puts its parts through presigned PUTs to a storage
multipart upload of the staging key; completing it assembles them there (once every part
arrived with its exact size), then the same checks and promotion; an assembled upload takes no
more parts, so the checked bytes cannot be replaced either.
Thumbnails: a PNG, JPEG, GIF or WebP gets its `THUMBNAIL_SPECS` when it becomes ready (either
path), through the `ImageThumbnailer` port, stored under `thumbnail_key` and reserved in the
quota together with the file (as bytes, not as more files). They are best effort: an image
that cannot be thumbnailed, a thumbnailer that fails or times out, or a quota with room for
the file but not its thumbnails leaves the file ready without them.
Public files: the owner can make a ready image (PUBLIC_TYPES) public. Its bytes and its
thumbnails are copied by the storage under `public/<token>/` (`public_key`), `token` random
and new each time, so the URL is immutable (cached for a year) and unguessable, and a file
made private then public again never gets its old URL back. The copies count in the quota
as bytes (they are stored twice); making it private, or deleting it, deletes them.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from domain.errors import InvalidCursor, NotFound, ServiceUnavailable, TooManyRequests
from domain.files.errors import (
    InvalidPart,
    NoMultipartUpload,
    NotAnImage,
    PayloadTooLarge,
    QuotaExceeded,
    UnsupportedMediaType,
    UploadIncomplete,
)
from domain.files.model import (
    LIST_MAX,
    MULTIPART_MIN_PART_SIZE,
    MULTIPART_PART_SIZE,
    PUBLIC_TYPES,
    THUMBNAIL_SOURCE_TYPES,
    THUMBNAIL_SPECS,
    THUMBNAIL_TYPE,
    UPLOAD_PARTS_MAX,
    DirectUpload,
    Download,
    FileCursor,
    FilePage,
    FileStatus,
    MultipartTicket,
    PartUrls,
    StorageQuota,
    StoredFile,
    Thumbnail,
    ThumbnailImage,
    UploadedPart,
    UploadTicket,
    part_bytes,
    part_count,
)
from domain.files.names import safe_display_name
from domain.files.sniff import SNIFF_BYTES, SNIFFABLE_TYPES, TEXT, TextCheck, declared_type, sniff
from ports.blobs import BlobStorage
from ports.clock import Clock
from ports.events import EventLog
from ports.files import FileRepository
from ports.ids import IdGenerator
from ports.images import ImageThumbnailer
from ports.rate_limit import RateLimiter
from ports.tasks import BackgroundTasks

log = logging.getLogger("flowhub.files")

TEXT_READ_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FilePolicy:
    max_upload_bytes: int = 10 * 1024 * 1024  # the API and the single-POST direct upload
    multipart_max_bytes: int = 1024**3  # a multipart direct upload
    multipart_part_size: int = MULTIPART_PART_SIZE
    allowed_types: tuple[str, ...] = SNIFFABLE_TYPES
    download_url_ttl_s: int = 15 * 60
    upload_url_ttl_s: int = 15 * 60
    pending_ttl_s: int = 60 * 60  # a direct upload not completed by then is given up
    list_default: int = 50
    list_max: int = LIST_MAX
    sweep_batch: int = 20
    sweep_every_s: float = 60.0  # starting uploads sweeps expired ones at most this often
    quota_bytes: int = 1024**3
    quota_files: int = 1000
    uploads_per_hour: int = 100  # every upload path together; the API allows 7,200 requests
    thumbnails: bool = True

    @property
    def quota(self) -> StorageQuota:
        return StorageQuota(self.quota_bytes, self.quota_files)


class FileService:
    def __init__(
        self,
        *,
        files: FileRepository,
        blobs: BlobStorage,
        limiter: RateLimiter,
        tasks: BackgroundTasks,
        clock: Clock,
        ids: IdGenerator,
        events: EventLog,
        policy: FilePolicy | None = None,
        thumbnailer: ImageThumbnailer | None = None,
    ) -> None:
        self._files = files
        self._blobs = blobs
        self._limiter = limiter
        self._tasks = tasks
        self._clock = clock
        self._ids = ids
        self._events = events
        self._policy = policy or FilePolicy()
        self._thumbnailer = thumbnailer
        self._last_sweep: float | None = None
        policy = self._policy
        if policy.multipart_part_size < MULTIPART_MIN_PART_SIZE or (
            part_count(policy.multipart_max_bytes, policy.multipart_part_size) > UPLOAD_PARTS_MAX
        ):
            raise ValueError(
                f"multipart parts must be >= 5 MiB and at most {UPLOAD_PARTS_MAX} of them"
            )
        unknown = set(self._policy.allowed_types) - set(SNIFFABLE_TYPES)
        if unknown:
            raise ValueError(f"cannot verify the content of {sorted(unknown)}")

    @property
    def policy(self) -> FilePolicy:
        return self._policy

    # upload through the API -----------------------------------------------------------

    async def upload(
        self,
        owner_id: str,
        name: str,
        content_type: str | None,
        chunks: AsyncIterable[bytes],
    ) -> StoredFile:
        """Store a streamed upload and its metadata (`ready`).

        The size limit is enforced while the bytes arrive (`PayloadTooLarge` at the first byte
        over it); the type is checked against the first bytes before anything is stored, and a
        text file all through. On any failure nothing is stored."""
        policy = self._policy
        declared = self._declared(content_type)
        await self._limit(owner_id)
        stream = aiter(chunks)
        wanted = min(SNIFF_BYTES, policy.max_upload_bytes + 1)
        head = await _read_head(stream, wanted)
        if len(head) > policy.max_upload_bytes:
            raise PayloadTooLarge()
        media = self._verified(declared, sniff(head, complete=len(head) < wanted))
        file_id = self._ids.new_id()
        key = object_key(owner_id, file_id)
        body = _checked(head, stream, policy.max_upload_bytes, media == TEXT)
        size = await self._blobs.put(key, body, media, policy.max_upload_bytes)
        record = StoredFile(
            id=file_id,
            owner_id=owner_id,
            name=safe_display_name(name),
            size=size,
            content_type=media,
            status=FileStatus.READY,
            object_key=key,
            created_at=_to_ms(self._clock.now()),
        )
        try:
            record = await self._with_thumbnails(record)
            if not await self._files.reserve(owner_id, record.quota_bytes, policy.quota):
                if not record.thumbnails:
                    raise QuotaExceeded()
                # room for the file but not its thumbnails: the file matters, they do not
                await self._delete_thumbnails(record)
                record = replace(record, thumbnails=())
                await self._reserve(owner_id, size)
        except BaseException:
            await self._delete_thumbnails(record)
            await self._blobs.delete(key)
            raise
        try:
            await self._files.add(record)
        except BaseException:
            await self._files.release(owner_id, record.quota_bytes)
            await self._delete_thumbnails(record)
            await self._blobs.delete(key)
            raise
        self._uploaded(record, "api")
        return record

    # direct upload -----------------------------------------------------------------------

    async def start_upload(
        self, owner_id: str, name: str, size: int, content_type: str
    ) -> UploadTicket:
        """A pending file and a presigned form upload that storage accepts only with exactly
        the announced size and type, until it expires. The form posts to a staging key:
        only `complete` moves checked bytes to the key downloads read."""
        policy = self._policy
        record = await self._announce(owner_id, name, size, content_type, policy.max_upload_bytes)
        try:
            post = await self._blobs.presign_post(
                staging_key(record.object_key),
                record.content_type,
                size,
                size,
                policy.upload_url_ttl_s,
            )
            await self._files.add(record)
        except BaseException:
            await self._files.release(owner_id, size)
            raise
        now = record.created_at
        upload = DirectUpload(
            post.url, "POST", post.fields, now + timedelta(seconds=policy.upload_url_ttl_s)
        )
        return UploadTicket(record, upload)

    async def _announce(
        self, owner_id: str, name: str, size: int, content_type: str, max_bytes: int
    ) -> StoredFile:
        """The pending record of a direct upload (either kind), its size reserved in the
        quota (released by the caller if it fails to store the record), the upload counted
        against the hourly rate."""
        policy = self._policy
        if size > max_bytes:
            raise PayloadTooLarge()
        declared = declared_type(content_type)
        if declared is None or declared not in policy.allowed_types:
            raise UnsupportedMediaType()
        await self._limit(owner_id)
        self._sweep_soon()
        now = _to_ms(self._clock.now())
        file_id = self._ids.new_id()
        record = StoredFile(
            id=file_id,
            owner_id=owner_id,
            name=safe_display_name(name),
            size=size,
            content_type=declared,
            status=FileStatus.PENDING,
            object_key=object_key(owner_id, file_id),
            created_at=now,
            expires_at=now + timedelta(seconds=policy.pending_ttl_s),
        )
        await self._reserve(owner_id, size)
        return record

    # multipart direct upload -------------------------------------------------------------

    async def start_multipart(
        self, owner_id: str, name: str, size: int, content_type: str
    ) -> MultipartTicket:
        """A pending file of up to `multipart_max_bytes` and a storage multipart upload to its
        staging key, in parts of the policy's `multipart_part_size` (the last one shorter);
        reserved and rate-counted exactly as `start_upload`."""
        policy = self._policy
        record = await self._announce(
            owner_id, name, size, content_type, policy.multipart_max_bytes
        )
        staged = staging_key(record.object_key)
        upload_id: str | None = None
        try:
            upload_id = await self._blobs.start_multipart(staged, record.content_type)
            record = replace(record, upload_id=upload_id)
            await self._files.add(record)
        except BaseException:
            await self._files.release(owner_id, size)
            if upload_id is not None:
                await self._blobs.abort_multipart(staged, upload_id)
            raise
        return MultipartTicket(
            record, upload_id, policy.multipart_part_size, self._part_count(record)
        )

    async def part_urls(self, owner_id: str, file_id: str, numbers: Sequence[int]) -> PartUrls:
        """Presigned PUTs of these parts (each of exactly its size), valid the policy's upload
        TTL; `InvalidPart` for a number outside 1..part_count or named twice."""
        record, upload_id = await self._in_progress(owner_id, file_id)
        count = self._part_count(record)
        if not numbers or len(set(numbers)) != len(numbers):
            raise InvalidPart("Name each part once.")
        if any(not 1 <= n <= count for n in numbers):
            raise InvalidPart(f"This upload has parts 1 to {count}.")
        ttl = self._policy.upload_url_ttl_s
        staged = staging_key(record.object_key)
        urls = []
        for number in numbers:
            size = part_bytes(record.size, number, self._policy.multipart_part_size)
            urls.append(
                (number, await self._blobs.presign_part(staged, upload_id, number, size, ttl))
            )
        return PartUrls(tuple(urls), self._clock.now() + timedelta(seconds=ttl))

    async def multipart_status(
        self, owner_id: str, file_id: str
    ) -> tuple[MultipartTicket, list[UploadedPart]]:
        """The upload (to resume it: its part size and count) and the parts that arrived."""
        record, upload_id = await self._in_progress(owner_id, file_id)
        parts = await self._blobs.list_parts(staging_key(record.object_key), upload_id)
        ticket = MultipartTicket(
            record, upload_id, self._policy.multipart_part_size, self._part_count(record)
        )
        return ticket, parts or []

    async def complete_multipart(
        self, owner_id: str, file_id: str, parts: Sequence[tuple[int, str]]
    ) -> StoredFile:
        """Assemble the parts on the staging key once every one of them arrived with its exact
        size (`UploadIncomplete` before) and `parts` lists them all, 1..part_count, with their
        ETags (`InvalidPart` otherwise); then `complete`'s checks and promotion. A completion
        retried after the parts were assembled goes straight to those checks."""
        record = await self._owned(owner_id, file_id)
        if record.status is FileStatus.READY:
            return record
        if record.upload_id is None:
            raise NoMultipartUpload()
        staged = staging_key(record.object_key)
        assembled = await self._blobs.head(staged) is not None
        if not assembled and await self._blobs.head(record.object_key) is None:
            await self._assemble(record, record.upload_id, parts)
        return await self._complete_staged(record, "multipart")

    async def abort_multipart(self, owner_id: str, file_id: str) -> None:
        """Drop a multipart upload in progress: its parts, its record, its reservation."""
        await self._in_progress(owner_id, file_id)
        await self.delete(owner_id, file_id)

    async def _assemble(
        self, record: StoredFile, upload_id: str, parts: Sequence[tuple[int, str]]
    ) -> None:
        count = self._part_count(record)
        numbers = [n for n, _ in parts]
        if numbers != sorted(set(numbers)) or any(not 1 <= n <= count for n in numbers):
            raise InvalidPart(f"List parts 1 to {count} once each, in increasing order.")
        staged = staging_key(record.object_key)
        arrived = await self._blobs.list_parts(staged, upload_id)
        if arrived is None:
            raise UploadIncomplete("The upload is over; start it again.")
        by_number = {p.part_number: p for p in arrived}
        part_size = self._policy.multipart_part_size
        missing = [
            n
            for n in range(1, count + 1)
            if n not in by_number or by_number[n].size != part_bytes(record.size, n, part_size)
        ]
        if missing:
            shown = ", ".join(str(n) for n in missing[:20])
            raise UploadIncomplete(f"Parts not (all) uploaded yet: {shown}.")
        if len(numbers) != count or any(
            _unquoted(etag) != _unquoted(by_number[n].etag) for n, etag in parts
        ):
            raise InvalidPart("The parts listed are not the parts uploaded.")
        assembled = await self._blobs.complete_multipart(staged, upload_id, parts)
        # None: another completion assembled it first, or the upload was aborted
        if assembled is None and await self._blobs.head(staged) is None:
            raise UploadIncomplete("The upload is over; start it again.")

    async def _in_progress(self, owner_id: str, file_id: str) -> tuple[StoredFile, str]:
        record = await self._owned(owner_id, file_id)
        if record.status is not FileStatus.PENDING or record.upload_id is None:
            raise NoMultipartUpload()
        return record, record.upload_id

    def _part_count(self, record: StoredFile) -> int:
        return part_count(record.size, self._policy.multipart_part_size)

    async def complete(self, owner_id: str, file_id: str) -> StoredFile:
        """Make a direct upload `ready` once its staged object has the announced size and is
        of the announced type (its first bytes; text all through), by moving it to the key
        downloads read. A wrong size or type deletes the staged object."""
        record = await self._owned(owner_id, file_id)
        if record.status is FileStatus.READY:
            return record
        if record.upload_id is not None:
            raise UploadIncomplete("Complete a multipart upload with its parts.")
        return await self._complete_staged(record, "direct")

    async def _complete_staged(self, record: StoredFile, via: str) -> StoredFile:
        owner_id = record.owner_id
        staged = staging_key(record.object_key)
        info = await self._blobs.head(staged)
        if info is None:
            # a complete interrupted after the move finds the checked bytes already served
            if await self._blobs.head(record.object_key) is None:
                raise UploadIncomplete()
        else:
            await self._check_staged(record, staged, info.size)
            if await self._blobs.promote(staged, record.object_key) is None:
                raise UploadIncomplete()
        ready = await self._with_thumbnails(record.ready())
        extra = ready.thumbnail_bytes
        if extra and not await self._files.reserve(owner_id, extra, self._policy.quota, files=0):
            await self._delete_thumbnails(ready)
            ready = replace(ready, thumbnails=())
        try:
            await self._files.update(ready)
        except BaseException:
            if ready.thumbnails:
                await self._files.release(owner_id, extra, files=0)
                await self._delete_thumbnails(ready)
            raise
        self._uploaded(ready, via)
        return ready

    # reading -----------------------------------------------------------------------------

    async def get(self, owner_id: str, file_id: str) -> StoredFile:
        return await self._owned(owner_id, file_id)

    async def download(self, owner_id: str, file_id: str) -> Download:
        """A presigned GET of a ready file, valid for the policy's download TTL."""
        record = await self._owned(owner_id, file_id)
        if record.status is not FileStatus.READY:
            raise UploadIncomplete()
        return await self._signed(record)

    async def download_attached(self, file_id: str) -> Download:
        """A presigned GET of a ready file for someone who is not its owner, when the caller
        has decided they may read it (a chat attachment: domain/chat/attachments.py). The
        same URLs and thumbnails as the owner's download; a file that is not ready, or gone,
        is NotFound."""
        record = await self._files.get(file_id)
        if record is None or record.status is not FileStatus.READY:
            raise NotFound("The file does not exist.")
        return await self._signed(record)

    async def downloads(self, files: Iterable[StoredFile]) -> dict[str, Download]:
        """The presigned GETs (file and thumbnails) of the ready ones among `files` (the
        caller's, as a listing gave them), by id: a gallery gets every link in one request.
        Signing reads no store."""
        return {f.id: await self._signed(f) for f in files if f.status is FileStatus.READY}

    async def _signed(self, record: StoredFile) -> Download:
        ttl = self._policy.download_url_ttl_s
        url = await self._blobs.presign_get(
            record.object_key, record.name, record.content_type, ttl
        )
        thumbnails: list[tuple[Thumbnail, str]] = []
        for thumb in record.thumbnails:
            key, name = thumbnail_key(record, thumb.size), thumbnail_name(record.name, thumb.size)
            thumb_url = await self._blobs.presign_get(key, name, THUMBNAIL_TYPE, ttl)
            thumbnails.append((thumb, thumb_url))
        expires_at = self._clock.now() + timedelta(seconds=ttl)
        if record.public_token is None:
            return Download(record, url, expires_at, tuple(thumbnails))
        public = {
            t.size: self._blobs.public_url(public_key(record, t.size)) for t in record.thumbnails
        }
        return Download(
            record,
            url,
            expires_at,
            tuple(thumbnails),
            public_url=self._blobs.public_url(public_key(record)),
            public_thumbnails=public,
        )

    async def public_images(
        self, wanted: Iterable[tuple[str, str, str]], size: int
    ) -> dict[str, str]:
        """The stable public URLs of public images named by `(file id, owner id, public
        token)`, by file id: each one's public thumbnail of `size` when it has one (an image
        no larger has none; thumbnails are best effort), else the image's own public copy.
        Only those still ready, of that owner, and public with that very token are answered:
        one deleted, made private, or made private and public again since is left out, so no
        URL answered points at nothing. One read of the repository, none for nothing wanted."""
        refs = {file_id: (owner_id, token) for file_id, owner_id, token in wanted}
        if not refs:
            return {}
        found = await self._files.get_many(list(refs))
        urls: dict[str, str] = {}
        for file_id, (owner_id, token) in refs.items():
            record = found.get(file_id)
            if (
                record is None
                or record.owner_id != owner_id
                or record.status is not FileStatus.READY
                or record.public_token is None
                or record.public_token != token
                or record.content_type not in PUBLIC_TYPES
            ):
                continue
            sized = any(t.size == size for t in record.thumbnails)
            urls[file_id] = self._blobs.public_url(public_key(record, size if sized else None))
        return urls

    async def list(self, owner_id: str, limit: int | None, cursor: str | None) -> FilePage:
        policy = self._policy
        size = max(1, min(limit or policy.list_default, policy.list_max))
        after = decode_cursor(cursor) if cursor else None
        found = await self._files.list_by_owner(owner_id, size + 1, after)
        items = found[:size]
        more = len(found) > size
        return FilePage(items, encode_cursor(items[-1]) if more and items else None)

    # public files --------------------------------------------------------------------------

    async def set_public(self, owner_id: str, file_id: str, public: bool) -> StoredFile:
        """Make a ready image public (its copies stored, their bytes reserved in the quota:
        `QuotaExceeded` when they do not fit) or private again (the copies deleted first, so
        the public URL stops working before the answer). Setting what already is changes
        nothing. `NotAnImage` for any other type; `UploadIncomplete` for a pending file."""
        record = await self._owned(owner_id, file_id)
        if record.status is not FileStatus.READY:
            raise UploadIncomplete()
        if public:
            return await self._make_public(record)
        if record.public_token is None:
            return record
        await self._unpublish(record)
        private = replace(record, public_token=None)
        # of two made at once, only the one that changes the record gives the bytes back
        if await self._files.set_public_token(record.id, record.public_token, None):
            await self._files.release(owner_id, record.public_bytes, files=0)
            self._events.record("file_private", user_id=owner_id, file_id=record.id)
        return private

    async def _make_public(self, record: StoredFile) -> StoredFile:
        owner_id = record.owner_id
        if record.content_type not in PUBLIC_TYPES:
            raise NotAnImage()
        if record.public_token is not None:
            return record
        published = replace(record, public_token=secrets.token_urlsafe(16))
        extra = published.public_bytes
        if not await self._files.reserve(owner_id, extra, self._policy.quota, files=0):
            raise QuotaExceeded()
        won = False
        try:
            if await self._blobs.publish(record.object_key, public_key(published)) is None:
                raise UploadIncomplete()
            for thumb in published.thumbnails:
                await self._blobs.publish(
                    thumbnail_key(published, thumb.size), public_key(published, thumb.size)
                )
            # of two made at once from private, one wins; the other undoes its copies
            won = await self._files.set_public_token(record.id, None, published.public_token)
        finally:
            if not won:  # failed, or another request made it public (or deleted it) first
                await self._unpublish(published)
                await self._files.release(owner_id, extra, files=0)
        if not won:
            return await self._owned(owner_id, record.id)
        self._events.record("file_public", user_id=owner_id, file_id=record.id)
        return published

    async def _unpublish(self, record: StoredFile) -> None:
        """Delete a public file's copies (its own and every thumbnail size there could be)."""
        if record.public_token is None:
            return
        await self._blobs.delete(public_key(record))
        for spec in THUMBNAIL_SPECS:
            await self._blobs.delete(public_key(record, spec.size))

    # deletion ----------------------------------------------------------------------------

    async def delete(self, owner_id: str, file_id: str) -> None:
        """Mark, delete the object, delete the record: metadata never points at nothing
        visible. A file left marked by an interrupted delete can be deleted again."""
        record = await self._files.get(file_id)
        if record is None or record.owner_id != owner_id:
            raise NotFound("The file does not exist.")
        await self._remove(record)

    async def delete_all(self, owner_id: str) -> int:
        """Every file of the owner, each as `delete` removes one (pending, expired and
        half-deleted ones too), then the owner's usage record: an account's deletion. An
        interrupted run can be repeated. How many files it removed."""
        removed = 0
        while batch := await self._files.every_of_owner(owner_id, self._policy.sweep_batch):
            for record in batch:
                await self._remove(record)
            removed += len(batch)
        await self._files.forget_usage(owner_id)
        return removed

    async def _remove(self, record: StoredFile) -> None:
        owner_id = record.owner_id
        if record.status is not FileStatus.DELETING:
            await self._files.update(record.deleting())
        await self._unpublish(record)
        await self._abort_parts(record)
        await self._blobs.delete(record.object_key)
        await self._blobs.delete(staging_key(record.object_key))
        await self._delete_thumbnails(record, every_size=True)
        await self._files.delete(record.id)
        await self._files.release(owner_id, record.quota_bytes)
        self._events.record("file_deleted", user_id=owner_id, file_id=record.id)

    async def sweep_expired_uploads(self) -> int:
        """Remove the objects and records of direct uploads never completed in time (a
        multipart one's parts too: its storage upload is aborted)."""
        expired = await self._files.expired_uploads(self._policy.sweep_batch)
        for record in expired:
            await self._abort_parts(record)
            await self._blobs.delete(staging_key(record.object_key))
            await self._blobs.delete(record.object_key)
            await self._delete_thumbnails(record, every_size=True)
            await self._files.delete(record.id)
            await self._files.release(record.owner_id, record.quota_bytes)
        return len(expired)

    # internals ---------------------------------------------------------------------------

    async def _abort_parts(self, record: StoredFile) -> None:
        if record.upload_id is not None:
            await self._blobs.abort_multipart(staging_key(record.object_key), record.upload_id)

    async def _limit(self, owner_id: str) -> None:
        """The hourly upload rate. It fails open: the quota, in the repository, still holds."""
        try:
            window = await self._limiter.hit(
                upload_rate_key(owner_id), self._policy.uploads_per_hour, 3600
            )
        except ServiceUnavailable:
            log.warning("upload rate limit unavailable; letting the upload through")
            return
        if window.exceeded:
            raise TooManyRequests(window.reset_in_s)

    async def _reserve(self, owner_id: str, size: int) -> None:
        if not await self._files.reserve(owner_id, size, self._policy.quota):
            raise QuotaExceeded()

    async def _with_thumbnails(self, record: StoredFile) -> StoredFile:
        """The record with the thumbnails made and stored for it; unchanged when there are
        none (not an image, a bad one, or anything failing on the way: logged, not raised)."""
        if (
            self._thumbnailer is None
            or not self._policy.thumbnails
            or record.content_type not in THUMBNAIL_SOURCE_TYPES
        ):
            return record
        try:
            data = await self._blobs.read(record.object_key, 0, record.size)
            images = await self._thumbnailer.thumbnails(data, THUMBNAIL_SPECS)
        except Exception:
            log.warning("could not make thumbnails", exc_info=True)
            return record
        stored: list[Thumbnail] = []
        try:
            for image in images:
                await self._put_thumbnail(record, image)
                stored.append(
                    Thumbnail(
                        image.spec.size, image.spec.fit, image.width, image.height, len(image.data)
                    )
                )
        except Exception:
            log.warning("could not store thumbnails", exc_info=True)
            await self._delete_thumbnails(replace(record, thumbnails=tuple(stored)))
            return record
        return replace(record, thumbnails=tuple(stored))

    async def _put_thumbnail(self, record: StoredFile, image: ThumbnailImage) -> None:
        key = thumbnail_key(record, image.spec.size)
        await self._blobs.put(key, _once(image.data), THUMBNAIL_TYPE, len(image.data))

    async def _delete_thumbnails(self, record: StoredFile, every_size: bool = False) -> None:
        """Delete the record's thumbnails; `every_size`: every size there could be, so a
        thumbnail stored by a `complete` that raced this deletion is not left behind."""
        sizes = {t.size for t in record.thumbnails}
        if every_size:
            sizes |= {spec.size for spec in THUMBNAIL_SPECS}
        for size in sorted(sizes):
            await self._blobs.delete(thumbnail_key(record, size))

    async def _check_staged(self, record: StoredFile, staged: str, size: int) -> None:
        if size != record.size:
            await self._blobs.delete(staged)
            raise UploadIncomplete("The uploaded file is not the size announced; upload it again.")
        head = await self._blobs.read(staged, 0, SNIFF_BYTES)
        wrong = sniff(head, complete=record.size <= SNIFF_BYTES) != record.content_type
        if not wrong and record.content_type == TEXT:
            wrong = not await self._all_text(staged, record.size)
        if wrong:
            await self._blobs.delete(staged)
            raise UnsupportedMediaType("The uploaded bytes are not what the announced type says.")

    async def _all_text(self, key: str, size: int) -> bool:
        """A direct text upload is served as text/plain: all of it must be UTF-8 text."""
        check = TextCheck()
        for offset in range(0, size, TEXT_READ_BYTES):
            if not check.feed(await self._blobs.read(key, offset, TEXT_READ_BYTES)):
                return False
        return check.feed(b"", final=True)

    def _uploaded(self, record: StoredFile, via: str) -> None:
        """The workflow event of a file now `ready`: ids, size and type, never its name."""
        self._events.record(
            "file_uploaded",
            user_id=record.owner_id,
            file_id=record.id,
            size=record.size,
            content_type=record.content_type,
            via=via,
        )

    def _sweep_soon(self) -> None:
        now = self._clock.monotonic()
        if self._last_sweep is not None and now - self._last_sweep < self._policy.sweep_every_s:
            return
        self._last_sweep = now
        self._tasks.spawn(self._sweep_quietly(), name="files-sweep")

    async def _sweep_quietly(self) -> None:
        try:
            await self.sweep_expired_uploads()
        except Exception:
            log.warning("could not sweep expired uploads", exc_info=True)

    async def _owned(self, owner_id: str, file_id: str) -> StoredFile:
        record = await self._files.get(file_id)
        if (
            record is None
            or record.owner_id != owner_id
            or not record.visible_at(self._clock.now())
        ):
            raise NotFound("The file does not exist.")
        return record

    def _declared(self, content_type: str | None) -> str | None:
        declared = declared_type(content_type)
        if declared is not None and declared not in self._policy.allowed_types:
            raise UnsupportedMediaType()
        return declared

    def _verified(self, declared: str | None, sniffed: str | None) -> str:
        if sniffed is None or sniffed not in self._policy.allowed_types:
            raise UnsupportedMediaType()
        if declared is not None and declared != sniffed:
            raise UnsupportedMediaType("The file's content is not what its declared type says.")
        return sniffed


def _unquoted(etag: str) -> str:
    return etag.strip().strip('"')


def _to_ms(moment: datetime) -> datetime:
    """Creation times to the millisecond: what MongoDB keeps and what a cursor carries."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def object_key(owner_id: str, file_id: str) -> str:
    """Storage key of a file: opaque ids only, never the user's file name."""
    return f"files/{owner_id}/{file_id}"


def staging_key(key: str) -> str:
    """Where a direct upload's bytes land before they are checked (a bucket lifecycle rule
    expires the `staging/` prefix: README "Deploying")."""
    return f"staging/{key}"


def thumbnail_key(record: StoredFile, size: int) -> str:
    """Where a file's thumbnail of `size` is stored: beside its object, opaque ids only
    (`files/<owner>/<file>` has its thumbnails under `thumbs/<owner>/<file>/`)."""
    return f"thumbs/{record.object_key.removeprefix('files/')}/{size}.webp"


def public_key(record: StoredFile, size: int | None = None) -> str:
    """Where a public file's copy (or its thumbnail of `size`) is stored: under `public/`,
    the only prefix anyone may read, behind its random token; opaque ids only. The extension
    lets a CDN or a browser that ignores Content-Type see an image."""
    assert record.public_token is not None
    if size is not None:
        return f"public/{record.public_token}/{record.id}-{size}.webp"
    extension = _EXTENSIONS.get(record.content_type, "bin")
    return f"public/{record.public_token}/{record.id}.{extension}"


_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


def thumbnail_name(name: str, size: int) -> str:
    """The download name of a thumbnail: the file's name without its extension, the size."""
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return f"{stem}-{size}.webp"


def upload_rate_key(owner_id: str) -> str:
    """The RateLimiter port's namespace (`rate:`), like every other counter."""
    return f"rate:{owner_id}:uploads"


def encode_cursor(last: StoredFile) -> str:
    millis = int(last.created_at.timestamp() * 1000)
    raw = f"{millis}:{last.id}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> FileCursor:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        millis, file_id = raw.split(":", 1)
        created_at = datetime.fromtimestamp(int(millis) / 1000, UTC)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError, OSError) as error:
        raise InvalidCursor() from error
    if not file_id:
        raise InvalidCursor()
    return FileCursor(created_at, file_id)


async def _read_head(stream: AsyncIterator[bytes], wanted: int) -> bytes:
    """At least `wanted` bytes from the stream, or all of it when it is shorter."""
    buffer = bytearray()
    while len(buffer) < wanted:
        chunk = await anext(stream, None)
        if chunk is None:
            break
        buffer += chunk
    return bytes(buffer)


async def _checked(
    head: bytes, rest: AsyncIterator[bytes], max_bytes: int, text: bool
) -> AsyncIterator[bytes]:
    """The whole upload again, counted (`PayloadTooLarge` past `max_bytes`) and, for text,
    checked all through."""
    check = TextCheck() if text else None
    total = 0
    async for chunk in _chain(head, rest):
        total += len(chunk)
        if total > max_bytes:
            raise PayloadTooLarge()
        if check is not None and not check.feed(chunk):
            raise UnsupportedMediaType("The file is not UTF-8 text.")
        yield chunk
    if check is not None and not check.feed(b"", final=True):
        raise UnsupportedMediaType("The file is not UTF-8 text.")


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _chain(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if head:
        yield head
    async for chunk in rest:
        yield chunk
