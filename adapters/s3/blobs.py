"""File contents in S3 (aiobotocore, one client opened on first use).

Uploads stream: bytes are gathered into parts of `part_size` (5 MiB, S3's minimum) and a file
that needs more than one part goes up as a multipart upload, so at most one part per upload is
held in memory, never the whole file; a smaller file is one `PutObject`. Whatever fails (the
size limit, the stream, S3), the multipart upload is aborted and nothing is stored.

Presigned downloads name the file through `response-content-disposition` (an attachment with
RFC 5987's `filename*`); presigned uploads are POST policies in which S3 itself enforces the
Content-Type, the size range (`content-length-range`) and the expiry.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from adapters.lifecycle import ManagedClient
from domain.errors import ServiceUnavailable
from domain.files.errors import PayloadTooLarge
from domain.files.model import BlobInfo, PresignedPost
from domain.files.names import content_disposition

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
else:
    S3Client = object

log = logging.getLogger("flowhub.s3")

PART_SIZE = 5 * 1024 * 1024
FAILURE_MESSAGE = "file storage is unavailable"


@asynccontextmanager
async def _reachable() -> AsyncIterator[None]:
    """S3 refusing or unreachable, as `ServiceUnavailable` (chained, for the log)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError, OSError) as error:
        raise ServiceUnavailable(FAILURE_MESSAGE) from error


def _status(error: Exception) -> int | None:
    response: Any = getattr(error, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


class S3BlobStorage:
    def __init__(
        self, client: ManagedClient[S3Client], bucket: str, part_size: int = PART_SIZE
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._part_size = max(part_size, PART_SIZE)

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], content_type: str, max_bytes: int
    ) -> int:
        parts = _parts(chunks, self._part_size, max_bytes)
        first = await anext(parts, b"")
        second = await anext(parts, None)
        async with _reachable():
            client = await self._client.get()
            if second is None:
                await client.put_object(
                    Bucket=self._bucket, Key=key, Body=first, ContentType=content_type
                )
                return len(first)
            started = await client.create_multipart_upload(
                Bucket=self._bucket, Key=key, ContentType=content_type
            )
        upload_id = started["UploadId"]
        try:
            return await self._multipart(
                client, key, upload_id, first=first, second=second, rest=parts
            )
        except BaseException:
            await self._abort(client, key, upload_id)
            raise

    async def _multipart(
        self,
        client: S3Client,
        key: str,
        upload_id: str,
        *,
        first: bytes,
        second: bytes,
        rest: AsyncIterator[bytes],
    ) -> int:
        done: list[dict[str, Any]] = []
        size = 0

        async def send(body: bytes) -> None:
            nonlocal size
            number = len(done) + 1
            async with _reachable():
                sent = await client.upload_part(
                    Bucket=self._bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
                )
            done.append({"ETag": sent["ETag"], "PartNumber": number})
            size += len(body)

        await send(first)
        await send(second)
        async for part in rest:
            await send(part)
        async with _reachable():
            await client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": done},  # type: ignore[typeddict-item]
            )
        return size

    async def _abort(self, client: S3Client, key: str, upload_id: str) -> None:
        try:
            await client.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)
        except Exception:
            # An upload left behind is invisible and costs only until the bucket's lifecycle
            # rule (AbortIncompleteMultipartUpload) removes it.
            log.warning("could not abort multipart upload %s of %s", upload_id, key, exc_info=True)

    async def head(self, key: str) -> BlobInfo | None:
        from botocore.exceptions import ClientError

        async with _reachable():
            client = await self._client.get()
            try:
                found = await client.head_object(Bucket=self._bucket, Key=key)
            except ClientError as error:
                if _status(error) == 404:
                    return None
                raise
        return BlobInfo(found["ContentLength"], found.get("ContentType"))

    async def read(self, key: str, offset: int, length: int) -> bytes:
        from botocore.exceptions import ClientError

        if length <= 0:
            return b""
        async with _reachable():
            client = await self._client.get()
            try:
                found = await client.get_object(
                    Bucket=self._bucket, Key=key, Range=f"bytes={offset}-{offset + length - 1}"
                )
            except ClientError as error:
                if _status(error) in (404, 416):  # missing, or nothing at that offset
                    return b""
                raise
            async with found["Body"] as body:
                data: bytes = await body.read()
        return data[:length]

    async def delete(self, key: str) -> None:
        async with _reachable():
            client = await self._client.get()
            await client.delete_object(Bucket=self._bucket, Key=key)

    async def presign_get(
        self, key: str, filename: str, content_type: str, expires_in_s: int
    ) -> str:
        async with _reachable():
            client = await self._client.get()
            return await client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": key,
                    "ResponseContentDisposition": content_disposition(filename),
                    "ResponseContentType": content_type,
                },
                ExpiresIn=expires_in_s,
            )

    async def presign_post(
        self, key: str, content_type: str, min_bytes: int, max_bytes: int, expires_in_s: int
    ) -> PresignedPost:
        async with _reachable():
            client = await self._client.get()
            post = await client.generate_presigned_post(
                Bucket=self._bucket,
                Key=key,
                Fields={"Content-Type": content_type},
                Conditions=[
                    {"Content-Type": content_type},
                    ["content-length-range", min_bytes, max_bytes],
                ],
                ExpiresIn=expires_in_s,
            )
        return PresignedPost(post["url"], {k: str(v) for k, v in post["fields"].items()})


async def _parts(
    chunks: AsyncIterable[bytes], part_size: int, max_bytes: int
) -> AsyncIterator[bytes]:
    """The stream regrouped into parts of `part_size` bytes (the last one shorter),
    `PayloadTooLarge` as soon as more than `max_bytes` have come."""
    buffer = bytearray()
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise PayloadTooLarge()
        buffer += chunk
        while len(buffer) >= part_size:
            with memoryview(buffer) as view:
                part = bytes(view[:part_size])
            del buffer[:part_size]
            yield part
    if buffer or total == 0:
        yield bytes(buffer)
