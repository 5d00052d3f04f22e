"""Files' request and response shapes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, Field

from domain.files.model import (
    CONTENT_TYPE_MAX,
    CURSOR_MAX,
    ETAG_MAX,
    LIST_MAX,
    NAME_INPUT_MAX,
    PART_URLS_MAX,
    UPLOAD_PARTS_MAX,
    FilePage,
    MultipartTicket,
    PartUrls,
    StoredFile,
    Thumbnail,
    UploadedPart,
    UploadTicket,
)
from schemas.common import In, Moment, json_integer, omitted_when_none


class UploadForm(BaseModel):
    """multipart/form-data with the file in the field `file` (its part's Content-Type is the
    declared type; omitted or application/octet-stream: taken from the bytes)."""

    file: bytes = Field(json_schema_extra={"format": "binary"})


class DirectUploadIn(In):
    name: Annotated[str, Field(min_length=1, max_length=NAME_INPUT_MAX)]
    size: Annotated[
        int,
        Field(ge=1, description="bytes; the upload must be exactly this size"),
        BeforeValidator(json_integer),
    ]
    content_type: Annotated[str, Field(min_length=1, max_length=CONTENT_TYPE_MAX)]


class FilePatchIn(In):
    public: Annotated[
        bool,
        Field(
            strict=True,
            description="true: make the image public (a stable URL, no token); false: private",
        ),
    ]


class ThumbnailOut(BaseModel):
    size: int = Field(description="64 (square crop), 256 or 1024 (whole image within the box)")
    fit: Literal["cover", "contain"]
    width: int
    height: int
    url: str = Field(description="a WebP image, metadata stripped; valid 15 minutes")
    public_url: str | None = omitted_when_none(
        "a public image's thumbnail: its stable URL, no token, cacheable for a year"
    )

    @classmethod
    def from_domain(cls, thumbnail: Thumbnail, url: str, public_url: str | None = None) -> Self:
        return cls(
            size=thumbnail.size,
            fit="cover" if thumbnail.fit.value == "cover" else "contain",
            width=thumbnail.width,
            height=thumbnail.height,
            url=url,
            public_url=public_url,
        )


class FileMetaOut(BaseModel):
    id: str
    name: str
    size: int = Field(description="bytes")
    content_type: str
    status: Literal["pending", "ready"]
    created_at: Moment
    download_url: str | None = omitted_when_none(
        "a ready file's download link (in `GET /files/{id}` and listings), valid 15 minutes"
    )
    thumbnails: list[ThumbnailOut] | None = omitted_when_none(
        "a ready image that has some (in `GET /files/{id}` and listings): smaller WebP copies,"
        " largest first, their links valid as long as `download_url`"
    )
    public: bool = Field(description="whether the file has a public URL (images only)")
    public_url: str | None = omitted_when_none(
        "a public image's stable URL: no token, immutable, cacheable for a year; gone once"
        " the file is private again (a new URL each time it is made public)"
    )

    @classmethod
    def from_domain(
        cls,
        file: StoredFile,
        download_url: str | None = None,
        thumbnails: list[ThumbnailOut] | None = None,
        public_url: str | None = None,
    ) -> Self:
        return cls(
            id=file.id,
            name=file.name,
            size=file.size,
            content_type=file.content_type,
            status="ready" if file.status.value == "ready" else "pending",
            created_at=file.created_at,
            download_url=download_url,
            thumbnails=thumbnails or None,
            public=file.public_token is not None,
            public_url=public_url,
        )


class FilePageOut(BaseModel):
    items: list[FileMetaOut] = Field(description="newest first")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")

    @classmethod
    def from_domain(cls, page: FilePage, ready: Mapping[str, FileMetaOut]) -> Self:
        """`ready`: the signed metadata of the page's ready files, by id."""
        return cls(
            items=[ready.get(f.id) or FileMetaOut.from_domain(f) for f in page.items],
            next_cursor=page.next_cursor,
        )


class FilesQuery(BaseModel):
    limit: Annotated[int, Field(ge=1, le=LIST_MAX)] | None = None
    cursor: Annotated[str, Field(max_length=CURSOR_MAX)] | None = None


class DirectUploadOut(BaseModel):
    url: str = Field(description="POST the form here: every field of `fields`, then `file`")
    method: Literal["POST"]
    fields: dict[str, str] = Field(description="form fields to send first, in this order")
    expires_at: Moment


class UploadTicketOut(BaseModel):
    file: FileMetaOut
    upload: DirectUploadOut

    @classmethod
    def from_domain(cls, ticket: UploadTicket, url: str) -> Self:
        return cls(
            file=FileMetaOut.from_domain(ticket.file),
            upload=DirectUploadOut(
                url=url,
                method="POST",
                fields=ticket.upload.fields,
                expires_at=ticket.upload.expires_at,
            ),
        )


PartNumber = Annotated[int, Field(ge=1, le=UPLOAD_PARTS_MAX), BeforeValidator(json_integer)]


class MultipartUploadOut(BaseModel):
    file: FileMetaOut = Field(description="`pending` until the upload is completed")
    upload_id: str = Field(description="storage's id of this multipart upload")
    part_size: int = Field(description="bytes in every part but the last (which has the rest)")
    part_count: int = Field(description="parts 1 to `part_count` make the file")

    @classmethod
    def from_domain(cls, ticket: MultipartTicket) -> Self:
        return cls(
            file=FileMetaOut.from_domain(ticket.file),
            upload_id=ticket.upload_id,
            part_size=ticket.part_size,
            part_count=ticket.part_count,
        )


class PartUrlsIn(In):
    part_numbers: Annotated[
        list[PartNumber],
        Field(min_length=1, max_length=PART_URLS_MAX, description="each once, 1..part_count"),
    ]


class PartUrlOut(BaseModel):
    part_number: int
    url: str = Field(description="PUT the part's bytes here (exactly its size); keep the ETag")


class PartUrlsOut(BaseModel):
    parts: list[PartUrlOut]
    expires_at: Moment

    @classmethod
    def from_domain(cls, urls: PartUrls, absolute: Callable[[str], str]) -> Self:
        return cls(
            parts=[PartUrlOut(part_number=n, url=absolute(url)) for n, url in urls.urls],
            expires_at=urls.expires_at,
        )


class UploadedPartOut(BaseModel):
    part_number: int
    size: int = Field(description="bytes")
    etag: str = Field(description="the ETag storage answered the part's PUT with")

    @classmethod
    def from_domain(cls, part: UploadedPart) -> Self:
        return cls(part_number=part.part_number, size=part.size, etag=part.etag)


class MultipartStatusOut(MultipartUploadOut):
    parts: list[UploadedPartOut] = Field(description="the parts that arrived, by number")

    @classmethod
    def from_status(cls, ticket: MultipartTicket, parts: list[UploadedPart]) -> Self:
        return cls(
            file=FileMetaOut.from_domain(ticket.file),
            upload_id=ticket.upload_id,
            part_size=ticket.part_size,
            part_count=ticket.part_count,
            parts=[UploadedPartOut.from_domain(p) for p in parts],
        )


class CompletedPartIn(In):
    part_number: PartNumber
    etag: Annotated[str, Field(min_length=1, max_length=ETAG_MAX)]


class MultipartCompleteIn(In):
    parts: Annotated[
        list[CompletedPartIn],
        Field(
            min_length=1,
            max_length=UPLOAD_PARTS_MAX,
            description="every part, 1..part_count in order, with the ETag its PUT answered",
        ),
    ]


class BlobUploadForm(BaseModel):
    """The fields the upload ticket gave (`key`, `Content-Type`), in that order, then `file`."""

    key: str
    content_type: str = Field(alias="Content-Type")
    file: bytes = Field(json_schema_extra={"format": "binary"})
