from __future__ import annotations

from domain.errors import Conflict, DomainError, Forbidden


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    default_message = "The file is larger than the upload limit."


class QuotaExceeded(DomainError):
    code = "quota_exceeded"
    default_message = "Your storage is full: delete some files to upload more."


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    default_message = "This type of file is not accepted, or its content is not what its type says."


class UploadIncomplete(DomainError):
    code = "upload_incomplete"
    default_message = "The file has not been uploaded completely yet."


class EntityTooSmall(DomainError):
    code = "entity_too_small"
    default_message = "The upload is smaller than announced."


class InvalidSignedUrl(Forbidden):
    """A presigned URL that is tampered with, expired or used outside its policy."""

    default_message = "The link is not valid or has expired."


class NotAnImage(Conflict):
    """Only a PNG, JPEG, GIF or WebP file can be made public."""

    code = "not_an_image"
    default_message = "Only PNG, JPEG, GIF and WebP images can be made public."


class InvalidPart(DomainError):
    """Part numbers outside a multipart upload, or a part list that is not what arrived."""

    code = "invalid_part"
    default_message = "The part numbers or ETags are not those of this upload."


class NoMultipartUpload(Conflict):
    """The caller's file exists but is no multipart upload in progress (ready, or a form
    upload): nothing to list, sign, complete or abort."""

    code = "no_multipart_upload"
    default_message = "No multipart upload is in progress for this file."
