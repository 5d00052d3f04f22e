"""The in-memory blob storage's presigned URLs, served by the app itself (development).

Registered only when files live in memory (no S3 configured): the same direct-upload and
download flows a front end runs against S3 then work against a development deployment.
No bearer token: like an S3 presigned URL, the signed token in the path is the permission.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from quart import Blueprint, Response, request
from quart_schema import DataSource, document_request, document_response

from adapters.memory.blobs import PUBLIC_PREFIX, MemoryBlobStorage
from domain.files.errors import PayloadTooLarge
from domain.files.model import PUBLIC_CACHE_CONTROL
from entrypoints.http.deps import container
from entrypoints.http.files import FILE_FIELD, missing_file
from entrypoints.http.openapi import no_content
from entrypoints.http.streaming import MULTIPART_OVERHEAD, MultipartStream, release
from schemas.common import ErrorResponse
from schemas.files import BlobUploadForm

blueprint = Blueprint("blobs", __name__, url_prefix="/files/blob")


def _storage() -> MemoryBlobStorage:
    storage = container().adapters.blobs()
    assert isinstance(storage, MemoryBlobStorage)
    return storage


@blueprint.get("/<token>")
@document_response(ErrorResponse, 403)
async def download_blob(token: str) -> Response:
    """A presigned download (development storage): the bytes, as an attachment.
    403 when the link is tampered with or expired."""
    found = _storage().open_download(token)
    return Response(
        found.data,
        status=200,
        content_type=found.content_type,
        headers={
            "Content-Disposition": found.content_disposition,
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@blueprint.get("/public/<path:rest>")
@document_response(ErrorResponse, 404)
async def public_blob(rest: str) -> Response:
    """A public image (development storage; on S3 the bucket serves it): its bytes with an
    immutable, year-long Cache-Control, no token. 404 once the file is private again."""
    found = _storage().open_public(PUBLIC_PREFIX + rest)
    return Response(
        found.data,
        status=200,
        content_type=found.content_type,
        headers={"Cache-Control": PUBLIC_CACHE_CONTROL, "X-Content-Type-Options": "nosniff"},
    )


@blueprint.post("/<token>")
@document_request(BlobUploadForm, source=DataSource.FORM_MULTIPART)
@no_content
@document_response(ErrorResponse, 403)
async def upload_blob(token: str) -> Response:
    """A presigned form upload (development storage), held to its policy like S3's: the
    fields `key` and `Content-Type` as given, then `file` of exactly the announced size.
    204 when stored; 403 for a bad or expired link; 413/400 for another size; 415 for
    another Content-Type."""
    storage = _storage()
    policy = storage.upload_policy(token)
    limit = policy.max_bytes + MULTIPART_OVERHEAD
    try:
        if request.content_length is not None and request.content_length > limit:
            raise PayloadTooLarge()
        form = MultipartStream(request.body, request.headers.get("Content-Type", ""), limit)
        fields, part = await form.fields_until_file(FILE_FIELD)
        if part is None:
            return missing_file()
        await storage.accept_upload(token, fields, form.part_data())
    finally:
        release(request)
    return Response(status=204)


@blueprint.put("/<token>")
@document_response(ErrorResponse, 403)
async def upload_part(token: str) -> Response:
    """A presigned part PUT of a multipart upload (development storage), held to its link
    like S3's: a raw body of exactly the signed size. 200 with the part's `ETag` (send it to
    `POST /files/{id}/multipart/complete`); 403 for a bad or expired link or an upload that
    is over; 413/400 for another size."""
    storage = _storage()
    size = storage.part_size(token)
    try:
        if request.content_length is not None and request.content_length > size:
            raise PayloadTooLarge()
        etag = await storage.accept_part(token, _body())
    finally:
        release(request)
    return Response(status=200, headers={"ETag": etag})


async def _body() -> AsyncIterator[bytes]:
    async for chunk in request.body:
        yield chunk
