"""File entities and value objects: stored files' metadata, blobs, presigned uploads."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

# What a client may send: a name is cut to NAME_MAX (names.py) after these bounds; the listing
# clamps its page size to the policy's `list_max`, at most LIST_MAX.
NAME_INPUT_MAX = 1000
CONTENT_TYPE_MAX = 200
CURSOR_MAX = 200
LIST_MAX = 100


class FileStatus(StrEnum):
    PENDING = "pending"  # announced for a direct upload, bytes not (yet) verified
    READY = "ready"
    DELETING = "deleting"  # marked for deletion: invisible, its object is being removed


class ThumbnailFit(StrEnum):
    COVER = "cover"  # a centred square crop, exactly size x size
    CONTAIN = "contain"  # the whole image within size x size, proportions kept


@dataclass(frozen=True, slots=True)
class ThumbnailSpec:
    size: int
    fit: ThumbnailFit


# The fixed set every image gets (a size only when the image is larger than it, never upscaled).
THUMBNAIL_SPECS = (
    ThumbnailSpec(64, ThumbnailFit.COVER),
    ThumbnailSpec(256, ThumbnailFit.CONTAIN),
    ThumbnailSpec(1024, ThumbnailFit.CONTAIN),
)
THUMBNAIL_TYPE = "image/webp"
THUMBNAIL_SOURCE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
# Only images may be made public (avatars, pictures in pages): what a browser shows inline and
# cannot run. Their public copies are served with this header (the key is new each time).
PUBLIC_TYPES = THUMBNAIL_SOURCE_TYPES
PUBLIC_CACHE_CONTROL = "public, max-age=31536000, immutable"

# Multipart direct uploads (files up to the policy's `multipart_max_bytes`): the server fixes
# the part size; every part but the last is exactly that (S3 takes no part under 5 MiB but the
# last, and at most 10,000 parts). A request for part URLs names at most PART_URLS_MAX parts.
MULTIPART_PART_SIZE = 8 * 1024 * 1024
MULTIPART_MIN_PART_SIZE = 5 * 1024 * 1024
MULTIPART_MAX_PARTS = 10_000  # S3's
# FlowHub's: a completion lists every part with its ETag (~70 bytes of JSON each), and that
# list must fit MAX_JSON_BYTES (64 KiB by default): 512 parts of 8 MiB, so at most 4 GiB.
UPLOAD_PARTS_MAX = 512
PART_URLS_MAX = 100
ETAG_MAX = 200


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """A stored derived image: WebP, metadata stripped, orientation applied."""

    size: int
    fit: ThumbnailFit
    width: int
    height: int
    bytes: int


@dataclass(frozen=True, slots=True)
class ThumbnailImage:
    """A derived image made in memory, before it is stored."""

    spec: ThumbnailSpec
    width: int
    height: int
    data: bytes


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file's metadata. The bytes live in blob storage under `object_key`, which is made of
    opaque ids only, never of anything the user chose."""

    id: str
    owner_id: str
    name: str
    size: int
    content_type: str
    status: FileStatus
    object_key: str
    created_at: datetime
    expires_at: datetime | None = None  # pending uploads only: when they are given up
    # Derived images of a ready image, stored under `thumbnail_key`; their bytes count in the
    # owner's quota on top of `size` (no extra file).
    thumbnails: tuple[Thumbnail, ...] = ()
    # Set while the file is public: the random, unguessable part of its public copies' keys,
    # new each time it is made public (so an old, cached public URL never comes back).
    public_token: str | None = None
    # Set while a pending file is a multipart upload: the storage's id of that upload (its
    # parts go to the file's staging key).
    upload_id: str | None = None

    @property
    def thumbnail_bytes(self) -> int:
        return sum(t.bytes for t in self.thumbnails)

    @property
    def public_bytes(self) -> int:
        """The public copies' bytes (the file's and its thumbnails'); 0 while private."""
        return self.size + self.thumbnail_bytes if self.public_token else 0

    @property
    def quota_bytes(self) -> int:
        """What this file holds of its owner's quota: its bytes, its thumbnails' and, while it
        is public, its public copies'."""
        return self.size + self.thumbnail_bytes + self.public_bytes

    def ready(self) -> StoredFile:
        return replace(self, status=FileStatus.READY, expires_at=None, upload_id=None)

    def deleting(self) -> StoredFile:
        return replace(self, status=FileStatus.DELETING)

    def visible_at(self, now: datetime) -> bool:
        """What the owner can see: ready files, and pending ones that have not expired."""
        if self.status is FileStatus.READY:
            return True
        return self.status is FileStatus.PENDING and (
            self.expires_at is None or self.expires_at > now
        )


@dataclass(frozen=True, slots=True)
class FileCursor:
    """Where a newest-first listing stopped: the last file's creation time and id."""

    created_at: datetime
    file_id: str


@dataclass(frozen=True, slots=True)
class FilePage:
    items: list[StoredFile]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class StorageQuota:
    """What one user may keep: bytes and files, pending direct uploads included."""

    max_bytes: int
    max_files: int


@dataclass(frozen=True, slots=True)
class BlobInfo:
    size: int
    content_type: str | None


@dataclass(frozen=True, slots=True)
class PresignedPost:
    """A browser-style form upload straight to storage: POST multipart/form-data to `url`
    with every entry of `fields` first, then the file as the field `file`."""

    url: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DirectUpload:
    url: str
    method: str
    fields: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class UploadTicket:
    file: StoredFile
    upload: DirectUpload


@dataclass(frozen=True, slots=True)
class Download:
    file: StoredFile
    url: str
    expires_at: datetime
    thumbnails: tuple[tuple[Thumbnail, str], ...] = ()  # each with its presigned GET
    public_url: str | None = None  # a public file's stable URL, served without a token
    public_thumbnails: dict[int, str] = field(default_factory=dict)  # by size, when public


@dataclass(frozen=True, slots=True)
class UploadedPart:
    """A part of a multipart upload that storage holds: its number (from 1), bytes, ETag."""

    part_number: int
    size: int
    etag: str


@dataclass(frozen=True, slots=True)
class MultipartTicket:
    file: StoredFile
    upload_id: str
    part_size: int
    part_count: int


@dataclass(frozen=True, slots=True)
class PartUrls:
    """Presigned PUTs of some parts of a multipart upload, by part number."""

    urls: tuple[tuple[int, str], ...]
    expires_at: datetime


def part_count(size: int, part_size: int = MULTIPART_PART_SIZE) -> int:
    """How many parts `size` bytes make (at least one)."""
    return max(1, -(-size // part_size))


def part_bytes(size: int, number: int, part_size: int = MULTIPART_PART_SIZE) -> int:
    """The exact size part `number` (from 1) of a `size`-byte upload must have."""
    return min(part_size, size - (number - 1) * part_size)


@dataclass(frozen=True, slots=True)
class FilesOverview:
    """Every ready file at a glance (the admin API): counts and the extremes."""

    count: int
    bytes: int
    largest: tuple[StoredFile, ...]
    recent: tuple[StoredFile, ...]
