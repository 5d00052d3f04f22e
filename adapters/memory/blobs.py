"""Blob storage in this process's memory, for development and tests.

Its presigned URLs are real: signed (itsdangerous, HMAC-SHA1 keyed by the app's secret),
expiring on the injected clock, and served by the app itself (`GET` and `POST
/api/v1/files/blob/<token>`, entrypoints/http/blobs.py). A front end's direct upload (a form
POST with `fields` then `file`) and download flows therefore work unchanged against a
development deployment, and the upload URL enforces what an S3 POST policy does: the key, the
exact Content-Type, the size range and the expiry.

Multipart uploads work like S3's: `presign_part` gives a signed `PUT /api/v1/files/blob/<token>`
for one part of one upload, of exactly the announced size (S3 holds the signed Content-Length
the same way), answered with the part's `ETag` (the quoted MD5 of its bytes, as S3's); the
parts are kept in memory (also by the disk adapter: an upload in progress does not outlive
the process) until `complete_multipart` joins them under the key.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from domain.errors import NotFound
from domain.files.errors import (
    EntityTooSmall,
    InvalidPart,
    InvalidSignedUrl,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from domain.files.model import (
    MULTIPART_MAX_PARTS,
    MULTIPART_MIN_PART_SIZE,
    BlobInfo,
    PresignedPost,
    UploadedPart,
)
from domain.files.names import content_disposition
from ports.clock import Clock

DEFAULT_BASE_PATH = "/api/v1/files/blob"
PUBLIC_PREFIX = "public/"


@dataclass(frozen=True, slots=True)
class StoredObject:
    data: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class SignedDownload:
    data: bytes
    content_type: str
    content_disposition: str


@dataclass(frozen=True, slots=True)
class UploadPolicy:
    key: str
    content_type: str
    min_bytes: int
    max_bytes: int


@dataclass(slots=True)
class _Multipart:
    key: str
    content_type: str
    parts: dict[int, tuple[bytes, str]] = field(default_factory=dict)  # number: (data, etag)


def _etag(data: bytes) -> str:
    return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'


def _unquoted(etag: str) -> str:
    return etag.strip().strip('"')


class MemoryBlobStorage:
    def __init__(self, secret: str, clock: Clock, base_path: str = DEFAULT_BASE_PATH) -> None:
        self._signer = URLSafeSerializer(secret, salt="flowhub memory blob url v1")
        self._clock = clock
        self._base = base_path.rstrip("/")
        self._objects: dict[str, StoredObject] = {}
        self._uploads: dict[str, _Multipart] = {}

    # the BlobStorage port ----------------------------------------------------------------

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], content_type: str, max_bytes: int
    ) -> int:
        data = await _receive(chunks, max_bytes)
        self._keep(key, StoredObject(data, content_type))
        return len(data)

    async def head(self, key: str) -> BlobInfo | None:
        found = self._find(key)
        return None if found is None else BlobInfo(len(found.data), found.content_type)

    async def read(self, key: str, offset: int, length: int) -> bytes:
        found = self._find(key)
        return b"" if found is None else found.data[offset : offset + length]

    async def promote(self, source_key: str, key: str) -> BlobInfo | None:
        found = self._take(source_key)
        if found is None:
            return None
        self._keep(key, found)
        return BlobInfo(len(found.data), found.content_type)

    async def publish(self, key: str, public_key: str) -> BlobInfo | None:
        if not public_key.startswith(PUBLIC_PREFIX):
            raise ValueError("public objects live under public/")
        found = self._find(key)
        if found is None:
            return None
        self._keep(public_key, found)
        return BlobInfo(len(found.data), found.content_type)

    def public_url(self, public_key: str) -> str:
        return f"{self._base}/{public_key}"

    async def delete(self, key: str) -> None:
        self._take(key)

    async def presign_get(
        self, key: str, filename: str, content_type: str, expires_in_s: int
    ) -> str:
        claims = {"op": "get", "key": key, "name": filename, "type": content_type}
        return self._url(claims, expires_in_s)

    async def presign_post(
        self, key: str, content_type: str, min_bytes: int, max_bytes: int, expires_in_s: int
    ) -> PresignedPost:
        claims = {"op": "post", "key": key, "type": content_type, "min": min_bytes}
        claims["max"] = max_bytes
        url = self._url(claims, expires_in_s)
        return PresignedPost(url, {"key": key, "Content-Type": content_type})

    async def start_multipart(self, key: str, content_type: str) -> str:
        upload_id = secrets.token_urlsafe(24)
        self._uploads[upload_id] = _Multipart(key, content_type)
        return upload_id

    async def presign_part(
        self, key: str, upload_id: str, part_number: int, size: int, expires_in_s: int
    ) -> str:
        if not 1 <= part_number <= MULTIPART_MAX_PARTS:
            raise InvalidPart()
        claims = {"op": "part", "key": key, "upload": upload_id, "n": part_number, "size": size}
        return self._url(claims, expires_in_s)

    async def list_parts(self, key: str, upload_id: str) -> list[UploadedPart] | None:
        upload = self._upload(key, upload_id)
        if upload is None:
            return None
        return [
            UploadedPart(number, len(data), etag)
            for number, (data, etag) in sorted(upload.parts.items())
        ]

    async def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]
    ) -> BlobInfo | None:
        upload = self._upload(key, upload_id)
        if upload is None:
            return None
        numbers = [number for number, _ in parts]
        if not parts or numbers != sorted(set(numbers)):
            raise InvalidPart("The parts must be listed once each, in increasing order.")
        chosen: list[bytes] = []
        for number, etag in parts:
            found = upload.parts.get(number)
            if found is None or _unquoted(found[1]) != _unquoted(etag):
                raise InvalidPart(f"Part {number} is not there or has another ETag.")
            chosen.append(found[0])
        if any(len(data) < MULTIPART_MIN_PART_SIZE for data in chosen[:-1]):
            raise EntityTooSmall("Every part but the last must be at least 5 MiB.")
        del self._uploads[upload_id]
        data = b"".join(chosen)
        self._keep(key, StoredObject(data, upload.content_type))
        return BlobInfo(len(data), upload.content_type)

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        if self._upload(key, upload_id) is not None:
            del self._uploads[upload_id]

    def _upload(self, key: str, upload_id: str) -> _Multipart | None:
        upload = self._uploads.get(upload_id)
        return upload if upload is not None and upload.key == key else None

    # what the app's routes serve ---------------------------------------------------------

    def open_download(self, token: str) -> SignedDownload:
        """The object behind a presigned GET; `InvalidSignedUrl` for a tampered, expired or
        foreign token, or when the object is gone."""
        claims = self._claims(token, "get")
        found = self._find(str(claims["key"]))
        if found is None:
            raise InvalidSignedUrl()
        return SignedDownload(
            found.data, str(claims["type"]), content_disposition(str(claims["name"]))
        )

    def open_public(self, public_key: str) -> StoredObject:
        """A published object, as S3 serves `public/` under its bucket policy; `NotFound`
        for any other key, or when it is gone."""
        found = self._find(public_key) if public_key.startswith(PUBLIC_PREFIX) else None
        if found is None:
            raise NotFound("The file does not exist or is not public.")
        return found

    def upload_policy(self, token: str) -> UploadPolicy:
        claims = self._claims(token, "post")
        return UploadPolicy(
            str(claims["key"]), str(claims["type"]), int(claims["min"]), int(claims["max"])
        )

    async def accept_upload(
        self, token: str, fields: Mapping[str, str], chunks: AsyncIterable[bytes]
    ) -> int:
        """A form upload through a presigned POST, held to its policy as S3 holds a POST
        policy: the `key` and `Content-Type` fields must be the signed ones and the size in
        range; otherwise nothing is stored (and an earlier object under the key stays)."""
        policy = self.upload_policy(token)
        if fields.get("key") != policy.key:
            raise InvalidSignedUrl("The form's key is not the one this link is for.")
        if fields.get("Content-Type", "").strip().lower() != policy.content_type:
            raise UnsupportedMediaType("The form's Content-Type is not the one this link is for.")
        data = await _receive(chunks, policy.max_bytes)
        if len(data) < policy.min_bytes:
            raise EntityTooSmall()
        self._keep(policy.key, StoredObject(data, policy.content_type))
        return len(data)

    def part_size(self, token: str) -> int:
        """The exact size a presigned part PUT must have (`InvalidSignedUrl` for a bad link)."""
        return int(self._claims(token, "part")["size"])

    async def accept_part(self, token: str, chunks: AsyncIterable[bytes]) -> str:
        """A part PUT through a presigned URL: exactly the signed size (`PayloadTooLarge`
        over it, `EntityTooSmall` under it), to an upload still in progress (403 otherwise,
        as S3's NoSuchUpload). Its ETag."""
        claims = self._claims(token, "part")
        upload = self._upload(str(claims["key"]), str(claims["upload"]))
        if upload is None:
            raise InvalidSignedUrl("The upload this link is for is over.")
        size = int(claims["size"])
        data = await _receive(chunks, size)
        if len(data) < size:
            raise EntityTooSmall()
        etag = _etag(data)
        upload.parts[int(claims["n"])] = (data, etag)
        return etag

    # where the objects are kept (adapters/disk/blobs.py keeps them in files) ---------------

    def _find(self, key: str) -> StoredObject | None:
        return self._objects.get(key)

    def _keep(self, key: str, found: StoredObject) -> None:
        self._objects[key] = found

    def _take(self, key: str) -> StoredObject | None:
        return self._objects.pop(key, None)

    # internals ---------------------------------------------------------------------------

    def _url(self, claims: dict[str, Any], expires_in_s: int) -> str:
        expires = int(self._clock.now().timestamp()) + expires_in_s
        return f"{self._base}/{self._signer.dumps({**claims, 'exp': expires})}"

    def _claims(self, token: str, op: str) -> dict[str, Any]:
        try:
            claims = self._signer.loads(token)
        except BadSignature as error:
            raise InvalidSignedUrl() from error
        if not isinstance(claims, dict) or claims.get("op") != op:
            raise InvalidSignedUrl()
        if int(claims.get("exp", 0)) <= self._clock.now().timestamp():
            raise InvalidSignedUrl("The link has expired.")
        return claims


async def _receive(chunks: AsyncIterable[bytes], max_bytes: int) -> bytes:
    """The whole stream (kept as its chunks until the end: no reallocating buffer that
    briefly needs twice the memory), `PayloadTooLarge` at the first byte past `max_bytes`."""
    received: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge()
        received.append(chunk)
    return b"".join(received)
