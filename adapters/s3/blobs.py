"""File contents in S3 (aiobotocore, one client opened on first use).

Uploads stream: bytes are cut into parts of `part_size` (16 MiB), each spooled to an anonymous
temporary file rather than held in memory, and read from it by the HTTP client 64 KiB at a
time. A file smaller than a part (every file under the default 10 MiB limit) is one
`PutObject`; a larger one is a multipart upload in which part n goes up while part n + 1
arrives. Measured with bench/files.py (10 MB files, moto, 2 CPUs): parts held in memory cost
~21 MiB of RSS per concurrent upload (the part, the buffer it was cut from, the socket's copy),
temporary files ~1.5 MiB; 5 MiB multipart parts, even pipelined, reached 0.55-0.57 of a direct
`PutObject`'s throughput, one spooled `PutObject` 0.73-0.75. Whatever fails (the size limit,
the stream, S3), nothing is stored: a multipart upload is aborted.

Presigned downloads name the file through `response-content-disposition` (an attachment with
RFC 5987's `filename*`); presigned uploads are POST policies in which S3 itself enforces the
Content-Type, the size range (`content-length-range`) and the expiry.

Public files are copies under `public/` (CopyObject inside S3), the only prefix the bucket
policy lets anyone read (README "Files" gives the policy), with their Cache-Control set on the
object; their URL is `public_base_url` (a CDN, or the bucket) and the key.

Multipart direct uploads are S3's own: CreateMultipartUpload, presigned UploadPart URLs (the
Content-Length signed, so a part PUT of another size is refused), ListParts (paginated),
CompleteMultipartUpload (assembled inside S3) and AbortMultipartUpload. A browser needs the
bucket's CORS rule to allow PUT and expose `ETag` (README "Files").
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from adapters.lifecycle import ManagedClient
from domain.errors import ServiceUnavailable
from domain.files.errors import EntityTooSmall, InvalidPart, PayloadTooLarge
from domain.files.model import PUBLIC_CACHE_CONTROL, BlobInfo, PresignedPost, UploadedPart
from domain.files.names import content_disposition

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
else:
    S3Client = object

log = logging.getLogger("flowhub.s3")

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's smallest part (but the last)
PART_SIZE = 16 * 1024 * 1024
PUBLIC_PREFIX = "public/"  # the only prefix the bucket policy lets anyone read
FAILURE_MESSAGE = "file storage is unavailable"


# Deadlines of the calls to S3, whatever aiobotocore's own timeouts do: with the endpoint
# hanging (accepting connections, never answering), a PutObject waited without end (over 90 s
# measured, with `read_timeout` at 10 s) and a HeadBucket ~30 s (tests/faults/
# test_storage_down.py). A call carrying bytes gets CALL_DEADLINE_S plus the time to send
# them at MIN_UPLOAD_BYTES_PER_S.
CALL_DEADLINE_S = 15.0
MIN_UPLOAD_BYTES_PER_S = 1024 * 1024


def _deadline_for(size: int) -> float:
    return CALL_DEADLINE_S + size / MIN_UPLOAD_BYTES_PER_S


@asynccontextmanager
async def _reachable(deadline_s: float = CALL_DEADLINE_S) -> AsyncIterator[None]:
    """S3 refusing, unreachable or not answering within `deadline_s`, as
    `ServiceUnavailable` (chained, for the log)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        async with asyncio.timeout(deadline_s):
            yield
    except (ClientError, BotoCoreError, OSError) as error:
        # OSError includes the TimeoutError of the deadline
        raise ServiceUnavailable(FAILURE_MESSAGE) from error


def _code(error: Exception) -> str | None:
    response = getattr(error, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


def _status(error: Exception) -> int | None:
    response: Any = getattr(error, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


class S3BlobStorage:
    def __init__(
        self,
        client: ManagedClient[S3Client],
        bucket: str,
        part_size: int = PART_SIZE,
        public_base_url: str | None = None,
    ) -> None:
        """`public_base_url`: where `public/` is read from without a token (a CDN in front
        of the bucket, or the bucket's own URL; README "Files")."""
        self._client = client
        self._bucket = bucket
        self._part_size = max(part_size, MIN_PART_SIZE)
        self._public_base = (public_base_url or f"https://{bucket}.s3.amazonaws.com").rstrip("/")

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], content_type: str, max_bytes: int
    ) -> int:
        parts = _spooled_parts(chunks, self._part_size, max_bytes)
        try:
            first = await anext(parts)
            if first.size < self._part_size:  # the whole file: one PutObject
                with first.file:
                    async with _reachable(_deadline_for(first.size)):
                        client = await self._client.get()
                        await client.put_object(
                            Bucket=self._bucket,
                            Key=key,
                            Body=first.file,
                            ContentLength=first.size,
                            ContentType=content_type,
                        )
                return first.size
            return await self._multipart(key, content_type, first, parts)
        finally:
            await parts.aclose()

    async def _multipart(
        self, key: str, content_type: str, first: _Part, rest: AsyncIterator[_Part]
    ) -> int:
        """Upload part n while part n + 1 arrives (at most one part in flight)."""
        async with _reachable():
            client = await self._client.get()
            started = await client.create_multipart_upload(
                Bucket=self._bucket, Key=key, ContentType=content_type
            )
        upload_id = started["UploadId"]
        done: list[dict[str, Any]] = []
        in_flight: asyncio.Task[dict[str, Any]] | None = None
        size = 0
        part: _Part | None = first
        try:
            while part is not None:
                number = len(done) + (2 if in_flight else 1)
                upload = self._upload_part(client, key, upload_id, number, part)
                previous, in_flight = in_flight, asyncio.create_task(upload)
                size += part.size
                if previous is not None:
                    done.append(await previous)
                part = await anext(rest, None)
            if in_flight is not None:
                done.append(await in_flight)
                in_flight = None
            async with _reachable():
                await client.complete_multipart_upload(
                    Bucket=self._bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": done},  # type: ignore[typeddict-item]
                )
        except BaseException:
            if in_flight is not None:
                in_flight.cancel()
                await asyncio.gather(in_flight, return_exceptions=True)
            if part is not None:
                part.file.close()  # a part whose upload never started
            await self._abort(client, key, upload_id)
            raise
        return size

    async def _upload_part(
        self, client: S3Client, key: str, upload_id: str, number: int, part: _Part
    ) -> dict[str, Any]:
        with part.file:
            async with _reachable(_deadline_for(part.size)):
                sent = await client.upload_part(
                    Bucket=self._bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=part.file,
                    ContentLength=part.size,
                )
        return {"ETag": sent["ETag"], "PartNumber": number}

    async def _abort(self, client: S3Client, key: str, upload_id: str) -> None:
        try:
            async with asyncio.timeout(CALL_DEADLINE_S):
                await client.abort_multipart_upload(
                    Bucket=self._bucket, Key=key, UploadId=upload_id
                )
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

    async def promote(self, source_key: str, key: str) -> BlobInfo | None:
        from botocore.exceptions import ClientError

        # CopyObject copies up to 5 GB in one call inside S3: the bytes never pass through here.
        async with _reachable(_deadline_for(5 * 1024 * 1024 * 1024)):
            client = await self._client.get()
            try:
                await client.copy_object(
                    Bucket=self._bucket,
                    Key=key,
                    CopySource={"Bucket": self._bucket, "Key": source_key},
                    MetadataDirective="COPY",
                )
            except ClientError as error:
                if _status(error) == 404 or _code(error) == "NoSuchKey":
                    return None
                raise
            await client.delete_object(Bucket=self._bucket, Key=source_key)
        return await self.head(key)

    async def publish(self, key: str, public_key: str) -> BlobInfo | None:
        """A copy inside S3 under `public/` (which the bucket policy lets anyone GET), its
        Content-Type kept and its Cache-Control set on the object, so S3 and any CDN in
        front of it serve both."""
        from botocore.exceptions import ClientError

        if not public_key.startswith(PUBLIC_PREFIX):
            raise ValueError("public objects live under public/")
        source = await self.head(key)
        if source is None:
            return None
        async with _reachable(_deadline_for(source.size)):
            client = await self._client.get()
            try:
                await client.copy_object(
                    Bucket=self._bucket,
                    Key=public_key,
                    CopySource={"Bucket": self._bucket, "Key": key},
                    MetadataDirective="REPLACE",
                    ContentType=source.content_type or "application/octet-stream",
                    CacheControl=PUBLIC_CACHE_CONTROL,
                )
            except ClientError as error:
                if _status(error) == 404 or _code(error) == "NoSuchKey":
                    return None
                raise
        return await self.head(public_key)

    def public_url(self, public_key: str) -> str:
        return f"{self._public_base}/{quote(public_key)}"

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

    # multipart direct uploads ---------------------------------------------------------------

    async def start_multipart(self, key: str, content_type: str) -> str:
        async with _reachable():
            client = await self._client.get()
            started = await client.create_multipart_upload(
                Bucket=self._bucket, Key=key, ContentType=content_type
            )
        return started["UploadId"]

    async def presign_part(
        self, key: str, upload_id: str, part_number: int, size: int, expires_in_s: int
    ) -> str:
        if not 1 <= part_number <= 10_000:
            raise InvalidPart()
        async with _reachable():
            client = await self._client.get()
            return await client.generate_presigned_url(
                "upload_part",
                Params={
                    "Bucket": self._bucket,
                    "Key": key,
                    "UploadId": upload_id,
                    "PartNumber": part_number,
                    "ContentLength": size,
                },
                ExpiresIn=expires_in_s,
            )

    async def list_parts(self, key: str, upload_id: str) -> list[UploadedPart] | None:
        from botocore.exceptions import ClientError

        parts: list[UploadedPart] = []
        marker = 0
        async with _reachable():
            client = await self._client.get()
            while True:
                try:
                    page = await client.list_parts(
                        Bucket=self._bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumberMarker=marker,
                    )
                except ClientError as error:
                    if _code(error) == "NoSuchUpload" or _status(error) == 404:
                        return None
                    raise
                for part in page.get("Parts", []):
                    parts.append(UploadedPart(part["PartNumber"], part["Size"], part["ETag"]))
                if not page.get("IsTruncated"):
                    return parts
                marker = int(page.get("NextPartNumberMarker", 0))

    async def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]
    ) -> BlobInfo | None:
        from botocore.exceptions import ClientError

        listed = [{"PartNumber": number, "ETag": etag} for number, etag in parts]
        # S3 assembles the parts itself; a large object can take it a while
        async with _reachable(_deadline_for(1024 * 1024 * 1024)):
            client = await self._client.get()
            try:
                await client.complete_multipart_upload(
                    Bucket=self._bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": listed},  # type: ignore[typeddict-item]
                )
            except ClientError as error:
                code = _code(error)
                if code == "NoSuchUpload" or _status(error) == 404:
                    return None
                if code in ("InvalidPart", "InvalidPartOrder", "MalformedXML"):
                    raise InvalidPart() from error
                if code == "EntityTooSmall":
                    too_small = "Every part but the last must be at least 5 MiB."
                    raise EntityTooSmall(too_small) from error
                raise
        return await self.head(key)

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        from botocore.exceptions import ClientError

        async with _reachable():
            client = await self._client.get()
            try:
                await client.abort_multipart_upload(
                    Bucket=self._bucket, Key=key, UploadId=upload_id
                )
            except ClientError as error:
                if _code(error) == "NoSuchUpload" or _status(error) == 404:
                    return
                raise


@dataclass(slots=True)
class _Part:
    file: IO[bytes]
    size: int


async def _spooled_parts(
    chunks: AsyncIterable[bytes], part_size: int, max_bytes: int
) -> AsyncGenerator[_Part]:
    """The stream cut into parts of `part_size` bytes (the last one shorter), each in an
    anonymous temporary file (unlinked at once, gone when closed; the consumer closes it),
    `PayloadTooLarge` as soon as more than `max_bytes` have come. The writes are small (a
    chunk at a time) and go to the page cache, so they do not hold the event loop up."""
    total = 0
    current: IO[bytes] | None = None
    filled = 0
    try:
        async for chunk in chunks:
            total += len(chunk)
            if total > max_bytes:
                raise PayloadTooLarge()
            view = memoryview(chunk)
            while view:
                if current is None:
                    current, filled = tempfile.TemporaryFile(), 0  # noqa: SIM115 (closed by the consumer)
                piece = view[: part_size - filled]
                current.write(piece)
                filled += len(piece)
                view = view[len(piece) :]
                if filled == part_size:
                    ready, current = current, None
                    ready.seek(0)
                    yield _Part(ready, filled)
        if current is None:
            if total:
                return  # it ended exactly at a part's end
            current = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the consumer)
        ready, current = current, None
        ready.seek(0)
        yield _Part(ready, filled)
    finally:
        if current is not None:
            current.close()
