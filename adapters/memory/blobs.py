"""Blob storage in this process's memory, for development and tests.

Its presigned URLs are real: signed (itsdangerous, HMAC-SHA1 keyed by the app's secret),
expiring on the injected clock, and served by the app itself (`GET` and `POST
/api/v1/files/blob/<token>`, entrypoints/http/blobs.py). A front end's direct upload (a form
POST with `fields` then `file`) and download flows therefore work unchanged against a
development deployment, and the upload URL enforces what an S3 POST policy does: the key, the
exact Content-Type, the size range and the expiry.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from domain.errors import NotFound
from domain.files.errors import (
    EntityTooSmall,
    InvalidSignedUrl,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from domain.files.model import BlobInfo, PresignedPost
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


class MemoryBlobStorage:
    def __init__(self, secret: str, clock: Clock, base_path: str = DEFAULT_BASE_PATH) -> None:
        self._signer = URLSafeSerializer(secret, salt="flowhub memory blob url v1")
        self._clock = clock
        self._base = base_path.rstrip("/")
        self._objects: dict[str, StoredObject] = {}

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
