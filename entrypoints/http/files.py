"""Files (API.md "Files"): thin handlers over FileService.

`POST /files` streams: the multipart body is decoded as it arrives and the file's bytes go to
storage part by part, so the size limit cuts an oversized upload off early, with nothing
buffered whole and nothing stored.
"""

from __future__ import annotations

from urllib.parse import urljoin

from quart import Blueprint, Response, request
from quart_schema import (
    DataSource,
    document_request,
    document_response,
    validate_querystring,
    validate_request,
    validate_response,
)

from domain.auth.principal import Principal
from domain.files.errors import PayloadTooLarge
from domain.files.model import Download
from domain.files.service import FileService
from entrypoints.http.deps import container
from entrypoints.http.errors import error_response
from entrypoints.http.guard import authenticated
from entrypoints.http.openapi import no_content, redirects
from entrypoints.http.streaming import MULTIPART_OVERHEAD, MultipartStream, release
from schemas.common import ErrorResponse
from schemas.files import (
    DirectUploadIn,
    FileMetaOut,
    FilePageOut,
    FilePatchIn,
    FilesQuery,
    MultipartCompleteIn,
    MultipartStatusOut,
    MultipartUploadOut,
    PartUrlsIn,
    PartUrlsOut,
    ThumbnailOut,
    UploadForm,
    UploadTicketOut,
)

blueprint = Blueprint("files", __name__, url_prefix="/files")

FILE_FIELD = "file"


def _files() -> FileService:
    service: FileService = container().services.files()
    return service


def absolute(url: str) -> str:
    """Storage URLs are absolute; the memory adapter's are paths on this server."""
    return urljoin(request.host_url, url) if url.startswith("/") else url


def missing_file() -> Response:
    return error_response(
        422,
        "validation_error",
        "The request is not valid.",
        [{"field": FILE_FIELD, "message": "Field required", "type": "missing"}],
    )


@blueprint.post("")
@authenticated
@document_request(UploadForm, source=DataSource.FORM_MULTIPART)
@validate_response(FileMetaOut, 201)
async def upload_file(principal: Principal) -> FileMetaOut | tuple[FileMetaOut, int] | Response:
    """Upload a file (multipart/form-data, field `file`), at most `MAX_UPLOAD_BYTES`.

    413 as soon as the body passes the limit; 415 when the type is not allowed or the bytes
    are not what the declared type says. Nothing is stored when either happens."""
    service = _files()
    limit = service.policy.max_upload_bytes + MULTIPART_OVERHEAD
    try:
        if request.content_length is not None and request.content_length > limit:
            raise PayloadTooLarge()
        form = MultipartStream(request.body, request.headers.get("Content-Type", ""), limit)
        _, part = await form.fields_until_file(FILE_FIELD)
        if part is None:
            return missing_file()
        stored = await service.upload(
            principal.user_id, part.filename, part.content_type, form.part_data()
        )
    finally:
        release(request)
    return FileMetaOut.from_domain(stored), 201


@blueprint.post("/uploads")
@authenticated
@validate_request(DirectUploadIn)
@validate_response(UploadTicketOut, 201)
@document_response(ErrorResponse, 413)
@document_response(ErrorResponse, 415)
async def start_upload(principal: Principal, data: DirectUploadIn) -> tuple[UploadTicketOut, int]:
    """Announce a direct upload: a pending file and a form POST straight to storage, which
    accepts exactly `size` bytes of `content_type` until `expires_at`. Then call
    `POST /files/{id}/complete`."""
    ticket = await _files().start_upload(principal.user_id, data.name, data.size, data.content_type)
    return UploadTicketOut.from_domain(ticket, absolute(ticket.upload.url)), 201


@blueprint.post("/<file_id>/complete")
@authenticated
@validate_response(FileMetaOut, 200)
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
@document_response(ErrorResponse, 415)
async def complete_upload(principal: Principal, file_id: str) -> FileMetaOut:
    """The direct upload is done: 200 `ready` once the object has the announced size and
    type; 409 `upload_incomplete` before that; 415 (object deleted) for other bytes."""
    return FileMetaOut.from_domain(await _files().complete(principal.user_id, file_id))


@blueprint.post("/multipart")
@authenticated
@validate_request(DirectUploadIn)
@validate_response(MultipartUploadOut, 201)
@document_response(ErrorResponse, 413)
@document_response(ErrorResponse, 415)
async def start_multipart(
    principal: Principal, data: DirectUploadIn
) -> tuple[MultipartUploadOut, int]:
    """Announce a resumable multipart upload of up to `MULTIPART_MAX_BYTES`: a pending file
    and its parts (`part_count` of `part_size` bytes, the last one the rest). Then ask for
    part URLs, PUT the parts, and complete with their ETags."""
    ticket = await _files().start_multipart(
        principal.user_id, data.name, data.size, data.content_type
    )
    return MultipartUploadOut.from_domain(ticket), 201


@blueprint.post("/<file_id>/multipart/parts")
@authenticated
@validate_request(PartUrlsIn)
@validate_response(PartUrlsOut, 200)
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
async def part_urls(principal: Principal, file_id: str, data: PartUrlsIn) -> PartUrlsOut:
    """Presigned PUT URLs of these parts, valid until `expires_at` (ask again after): PUT
    each part's exact bytes, keep the answer's `ETag`. 400 `invalid_part` for a number
    outside 1..part_count or named twice; 409 `no_multipart_upload` for a file that is not
    one in progress."""
    urls = await _files().part_urls(principal.user_id, file_id, data.part_numbers)
    return PartUrlsOut.from_domain(urls, absolute)


@blueprint.get("/<file_id>/multipart")
@authenticated
@validate_response(MultipartStatusOut, 200)
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
async def multipart_status(principal: Principal, file_id: str) -> MultipartStatusOut:
    """The multipart upload in progress and the parts that arrived (size, ETag): to resume
    after a lost connection or a reload, upload the others. 409 `no_multipart_upload` when
    none is in progress (completed: `GET /files/{id}` says `ready`)."""
    ticket, parts = await _files().multipart_status(principal.user_id, file_id)
    return MultipartStatusOut.from_status(ticket, parts)


@blueprint.post("/<file_id>/multipart/complete")
@authenticated
@validate_request(MultipartCompleteIn)
@validate_response(FileMetaOut, 200)
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
@document_response(ErrorResponse, 415)
async def complete_multipart(
    principal: Principal, file_id: str, data: MultipartCompleteIn
) -> FileMetaOut:
    """Assemble the parts: 200 `ready` once every part arrived (409 `upload_incomplete`
    before, naming the missing ones), the list is every part with its ETag (400
    `invalid_part` otherwise) and the file has the announced size and type (415, the bytes
    deleted, for another type)."""
    parts = [(p.part_number, p.etag) for p in data.parts]
    stored = await _files().complete_multipart(principal.user_id, file_id, parts)
    return FileMetaOut.from_domain(stored)


@blueprint.delete("/<file_id>/multipart")
@authenticated
@no_content
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
async def abort_multipart(principal: Principal, file_id: str) -> Response:
    """Abort the multipart upload in progress: its parts and the pending file go, and the
    quota they held is given back (204)."""
    await _files().abort_multipart(principal.user_id, file_id)
    return Response(status=204)


@blueprint.get("")
@authenticated
@validate_querystring(FilesQuery)
@validate_response(FilePageOut, 200)
@document_response(ErrorResponse, 400)
async def list_files(principal: Principal, query_args: FilesQuery) -> FilePageOut:
    """The caller's files, newest first, a ready file with its `download_url`; pass
    `next_cursor` as `cursor` for the next page.

    400 `invalid_cursor` for a cursor this listing did not give."""
    service = _files()
    page = await service.list(principal.user_id, query_args.limit, query_args.cursor)
    signed = await service.downloads(page.items)
    return FilePageOut.from_domain(page, {id_: signed_meta(d) for id_, d in signed.items()})


@blueprint.get("/<file_id>")
@authenticated
@validate_response(FileMetaOut, 200)
@document_response(ErrorResponse, 404)
async def get_file(principal: Principal, file_id: str) -> FileMetaOut:
    """The file's metadata; a ready file's `download_url` is valid 15 minutes."""
    service, owner = _files(), principal.user_id
    stored = await service.get(owner, file_id)
    if stored.status.value != "ready":
        return FileMetaOut.from_domain(stored)
    return signed_meta(await service.download(owner, file_id))


def signed_meta(download: Download) -> FileMetaOut:
    public = {size: absolute(url) for size, url in download.public_thumbnails.items()}
    thumbnails = [
        ThumbnailOut.from_domain(t, absolute(url), public.get(t.size))
        for t, url in download.thumbnails
    ]
    public_url = absolute(download.public_url) if download.public_url else None
    return FileMetaOut.from_domain(download.file, absolute(download.url), thumbnails, public_url)


@blueprint.patch("/<file_id>")
@authenticated
@validate_request(FilePatchIn)
@validate_response(FileMetaOut, 200)
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
@document_response(ErrorResponse, 413)
async def patch_file(principal: Principal, file_id: str, data: FilePatchIn) -> FileMetaOut:
    """Make a ready image public (`public_url`: no token, immutable, cacheable for a year)
    or private again (its public URL stops working; a new one each time it is made public).

    409 `not_an_image` for anything but PNG, JPEG, GIF and WebP (409 `upload_incomplete`
    while pending); 413 `quota_exceeded` when the public copy does not fit the quota."""
    service, owner = _files(), principal.user_id
    await service.set_public(owner, file_id, data.public)
    return signed_meta(await service.download(owner, file_id))


@blueprint.get("/<file_id>/download")
@authenticated
@redirects("To the file's download link (valid 15 minutes).")
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
async def download_file(principal: Principal, file_id: str) -> Response:
    """302 to a download link valid 15 minutes (an attachment under the file's name)."""
    found = await _files().download(principal.user_id, file_id)
    return Response(
        "", status=302, headers={"Location": absolute(found.url), "Cache-Control": "no-store"}
    )


@blueprint.delete("/<file_id>")
@authenticated
@no_content
@document_response(ErrorResponse, 404)
async def delete_file(principal: Principal, file_id: str) -> Response:
    """Delete the file's object and metadata (204)."""
    await _files().delete(principal.user_id, file_id)
    return Response(status=204)
