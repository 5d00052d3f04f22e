"""The odmantic models of the MongoDB collections: one per collection, its fields named as
the domain entity's (adapters/mongo/support.py maps them by name), its indexes declared here.

Imported only when a repository first talks to MongoDB: odmantic (with pydantic and pymongo)
costs ~250 ms to import, which no process that serves from memory should pay.
"""

from __future__ import annotations

from datetime import datetime

from odmantic import EmbeddedModel, Field, Model
from odmantic.config import ODMConfigDict
from pymongo import ASCENDING, DESCENDING, IndexModel

from domain.files.model import FileStatus, ThumbnailFit

# How long after its expiry MongoDB's TTL monitor drops a pending file by itself: the
# service's sweep removes the record's object first, and this is the backstop behind it.
PENDING_PURGE_AFTER_S = 24 * 3600


class UserDocument(Model):
    """`users`: one per account; `email` is stored normalized (the domain does that) and unique."""

    model_config = ODMConfigDict(collection="users")

    id: str = Field(primary_field=True)
    email: str = Field(unique=True)
    name: str
    password_hash: str
    email_verified: bool
    created_at: datetime
    updated_at: datetime
    # the avatar's file and the public token it had when chosen (absent in older documents)
    avatar_file_id: str | None = None
    avatar_token: str | None = None

    disabled: bool = False  # missing in users stored before the field: not disabled


class SecondFactorDocument(Model):
    """`second_factors`: a user's TOTP factor, `_id` the user's id. `secret` is stored as is
    (base32: codes are computed from it, so it cannot be hashed); `recovery_hashes` are keyed
    hashes of the unused recovery codes."""

    model_config = ODMConfigDict(collection="second_factors")

    id: str = Field(primary_field=True)
    secret: str
    enabled: bool
    recovery_hashes: list[str] = Field(default_factory=list)
    last_step: int = -1
    spent_before_ms: int = 0


class PasskeyDocument(Model):
    """`passkeys`: a user's WebAuthn credentials. `credential_id` (base64url) is unique across
    users (a registration answered twice is refused by it); `public_key` is the COSE key as the
    authenticator gave it; `sign_count` and `spent_before_ms` move only by a conditional
    update (adapters/mongo/passkeys.py)."""

    model_config = ODMConfigDict(collection="passkeys")

    id: str = Field(primary_field=True)
    user_id: str = Field(index=True)
    credential_id: str = Field(unique=True)
    public_key: bytes
    sign_count: int
    transports: list[str] = Field(default_factory=list)
    name: str
    created_at: datetime
    last_used_at: datetime | None = None
    spent_before_ms: int = 0


class SessionDocument(Model):
    """`sessions`: one refresh-token family per login. expireAfterSeconds=0: MongoDB's TTL
    monitor (every 60 s) deletes a family once `expires_at` has passed; reads filter on
    `expires_at` for the time in between."""

    model_config = ODMConfigDict(
        collection="sessions",
        indexes=lambda: [
            IndexModel([("expires_at", ASCENDING)], name="expires_at_ttl", expireAfterSeconds=0)
        ],
    )

    id: str = Field(primary_field=True)
    user_id: str = Field(index=True)
    salt: str
    generation: int
    current_hash: str
    previous_hash: str | None
    created_at: datetime
    rotated_at: datetime
    expires_at: datetime
    grace_generation: int = -1  # missing in families stored before the field: none used
    client: str = ""


class ThumbnailDocument(EmbeddedModel):
    """One of a file's thumbnails (its object key is derived from the file's)."""

    size: int
    fit: ThumbnailFit
    width: int
    height: int
    bytes: int


class FileDocument(Model):
    """`files`: metadata only (the bytes are in blob storage), newest first per owner. Only
    pending files have `expires_at` (ready ones hold null, which a TTL index skips)."""

    model_config = ODMConfigDict(
        collection="files",
        indexes=lambda: [
            IndexModel(
                [("owner_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
                name="owner_newest_first",
            ),
            IndexModel(
                [("expires_at", ASCENDING)],
                name="pending_expires_at_ttl",
                expireAfterSeconds=PENDING_PURGE_AFTER_S,
            ),
        ],
    )

    id: str = Field(primary_field=True)
    owner_id: str
    name: str
    size: int
    content_type: str
    status: FileStatus
    object_key: str
    created_at: datetime
    expires_at: datetime | None
    thumbnails: list[ThumbnailDocument] = Field(default_factory=list)
    public_token: str | None = None  # set while the file is public (its copies' keys)
    upload_id: str | None = None  # set while a pending file is a multipart upload (S3's id)


class FileUsageDocument(Model):
    """`file_usage`: what each owner keeps (bytes, files), pending uploads included, changed
    only by conditional `$inc`s so that the quota holds across instances."""

    model_config = ODMConfigDict(collection="file_usage")

    id: str = Field(primary_field=True)  # the owner's user id
    bytes: int
    files: int


class RoomDocument(Model):
    """`rooms`: `last_seq` is the room's message counter, advanced atomically ($inc)."""

    model_config = ODMConfigDict(
        collection="rooms",
        indexes=lambda: [
            IndexModel([("member_ids", ASCENDING), ("created_at", ASCENDING)], name="member_rooms"),
            IndexModel(
                [("invited_ids", ASCENDING), ("created_at", ASCENDING)], name="invited_rooms"
            ),
        ],
    )

    id: str = Field(primary_field=True)
    name: str
    member_ids: tuple[str, ...]
    simulated: bool
    created_at: datetime
    last_seq: int = 0
    creator_id: str = ""
    invited_ids: tuple[str, ...] = ()


class ReadDocument(Model):
    """`reads`: one member's read mark in one room (`_id` is `<room_id>:<user_id>`)."""

    model_config = ODMConfigDict(
        collection="reads",
        indexes=lambda: [IndexModel([("room_id", ASCENDING)], name="room_reads")],
    )

    id: str = Field(primary_field=True)
    room_id: str
    user_id: str
    seq: int


class AttachmentDocument(EmbeddedModel):
    """A file a message references, as it was when it was sent (`deleted` is computed at
    reads: always stored false)."""

    id: str
    name: str
    content_type: str
    size: int
    deleted: bool = False


class MessageDocument(Model):
    """`messages`: unique by (room_id, seq); a message sent with a `client_id` has an id
    derived from (room_id, sender_id, client_id), so `_id` makes a retry idempotent. The
    retention TTL depends on settings: the repository adds it."""

    model_config = ODMConfigDict(
        collection="messages",
        indexes=lambda: [
            IndexModel([("room_id", ASCENDING), ("seq", ASCENDING)], name="room_seq", unique=True),
            # partial: only messages with attachments have an entry (most have none)
            IndexModel(
                [("attachments.id", ASCENDING), ("room_id", ASCENDING)],
                name="attachment_rooms",
                partialFilterExpression={"attachments.id": {"$exists": True}},
            ),
        ],
    )

    id: str = Field(primary_field=True)
    room_id: str
    sender_id: str
    body: str
    seq: int
    created_at: datetime
    client_id: str | None = None
    # absent until a message is edited or deleted: no bytes for them on every message
    edited_at: datetime | None = None
    deleted: bool = False
    edit_id: str | None = None
    attachments: tuple[AttachmentDocument, ...] = ()  # absent when none


class SuppressionDocument(Model):
    """`mail_suppressions`: one address SES reported a permanent bounce or a complaint for;
    `_id` is the address's keyed hash (domain/auth/secrets.py), never the address."""

    model_config = ODMConfigDict(collection="mail_suppressions")

    id: str = Field(primary_field=True)
    reason: str
    at: datetime


class MailDayDocument(Model):
    """`mail_days`: one UTC day's mail counters (`_id` is `YYYY-MM-DD`), each `$inc`ed."""

    model_config = ODMConfigDict(collection="mail_days")

    id: str = Field(primary_field=True)
    sent: int = 0
    bounced: int = 0
    transient: int = 0
    complained: int = 0
    suppressed: int = 0


class UsageDayDocument(Model):
    """`usage_days`: one UTC day's usage counters shared by the instances (`_id` is
    `YYYY-MM-DD`), each `$inc`ed (adapters/mongo/usage_days.py)."""

    model_config = ODMConfigDict(collection="usage_days")

    id: str = Field(primary_field=True)
    log_bytes: int = 0


class IdentityDocument(Model):
    """`identities`: a provider account linked to a user; (issuer, subject) is unique, so of
    concurrent links of one provider account exactly one is stored."""

    model_config = ODMConfigDict(
        collection="identities",
        indexes=lambda: [
            IndexModel(
                [("issuer", ASCENDING), ("subject", ASCENDING)],
                name="issuer_subject_unique",
                unique=True,
            )
        ],
    )

    id: str = Field(primary_field=True)
    user_id: str = Field(index=True)
    provider: str
    issuer: str
    subject: str
    email: str | None = None
    created_at: datetime
