"""Files' request and response shapes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

from schemas.common import In, json_integer


class UploadForm(BaseModel):
    """multipart/form-data with the file in the field `file` (its part's Content-Type is the
    declared type; omitted or application/octet-stream: taken from the bytes)."""

    file: bytes = Field(json_schema_extra={"format": "binary"})


class DirectUploadIn(In):
    name: Annotated[str, Field(min_length=1, max_length=1000)]
    size: Annotated[
        int,
        Field(ge=1, description="bytes; the upload must be exactly this size"),
        BeforeValidator(json_integer),
    ]
    content_type: Annotated[str, Field(min_length=1, max_length=200)]


class FileMetaOut(BaseModel):
    id: str
    name: str
    size: int
    content_type: str
    status: Literal["pending", "ready"]
    created_at: str = Field(description="ISO 8601 UTC")
    download_url: str | None = Field(
        default=None, description="GET /files/{id} of a ready file: a link valid 15 minutes"
    )


class FilePageOut(BaseModel):
    items: list[FileMetaOut]
    next_cursor: str | None


class FilesQuery(BaseModel):
    limit: Annotated[int, Field(ge=1, le=100)] | None = None
    cursor: Annotated[str, Field(max_length=200)] | None = None


class DirectUploadOut(BaseModel):
    url: str = Field(description="POST the form here: every field of `fields`, then `file`")
    method: Literal["POST"]
    fields: dict[str, str]
    expires_at: str = Field(description="ISO 8601 UTC")


class UploadTicketOut(BaseModel):
    file: FileMetaOut
    upload: DirectUploadOut


class BlobUploadForm(BaseModel):
    """The fields the upload ticket gave (`key`, `Content-Type`), in that order, then `file`."""

    key: str
    content_type: str = Field(alias="Content-Type")
    file: bytes = Field(json_schema_extra={"format": "binary"})
