"""`GET /config`: what a front end may check before it sends (limits, allowed types, token
lifetimes, rate limits, features on), built from the policies and settings the server enforces,
so a form's checks cannot drift from the server's."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class UploadLimits(BaseModel):
    max_bytes: int = Field(
        description="`MAX_UPLOAD_BYTES`: a larger file is 413 (`POST /files`, `/files/uploads`)"
    )
    multipart_max_bytes: int = Field(
        description="`MULTIPART_MAX_BYTES`: the largest multipart upload (`POST /files/multipart`)"
    )
    multipart_part_size: int = Field(
        description="bytes in each part of a multipart upload but the last"
    )
    allowed_types: list[str] = Field(description="media types accepted (checked on the bytes)")
    quota_bytes: int = Field(description="all of a user's files together, pending ones included")
    quota_files: int
    uploads_per_hour: int = Field(description="every upload path together (multipart included)")
    list_max: int = Field(description="the largest `limit` of `GET /files`")


class TokenLifetimes(BaseModel):
    access_s: int = Field(description="an access token's life (its `expires_in`)")
    refresh_s: int = Field(description="a refresh token's life, unless spent or revoked first")
    email_code_s: int = Field(description="a 6-digit email code's life")
    email_code_attempts: int = Field(description="wrong tries before a code is burned")
    reset_s: int = Field(description="a reset token's life")


class PasswordRules(BaseModel):
    min_length: int
    max_length: int


class ChatLimits(BaseModel):
    message_max: int = Field(description="characters in a message body")
    room_name_max: int
    members_max: int = Field(description="`member_ids` a room is created with")
    page_max: int = Field(description="the largest `limit` of a messages page")
    typing_ttl_s: int = Field(description="a `typing: true` not renewed within this ends")
    rooms_per_user: int = Field(description="rooms one user may be a member of")
    invitations_pending_max: int = Field(description="invitations waiting for one user")
    edit_window_s: int = Field(description="how long after sending its sender may edit a message")
    attachments_max: int = Field(description="files one message may attach")


class RateLimits(BaseModel):
    api_requests_per_minute: int = Field(description="per user, on 🔒 routes")
    login_failures_per_minute: int = Field(description="per account, then 429")
    code_cooldown_s: int = Field(description="between two codes for one email and purpose")
    messages_per_window: int
    message_window_s: int
    rooms_per_hour: int = Field(description="rooms one user may create an hour")
    sockets_per_user: int = Field(
        description="Socket.IO connections one user may hold (per instance)"
    )
    sockets_per_ip: int = Field(description="Socket.IO connections from one address (per instance)")
    socket_events_per_10s: int = Field(
        description="events one socket may send in 10 s; past it the socket is disconnected"
    )
    invitations_per_hour: int = Field(description="invitations one user may send an hour")


class Features(BaseModel):
    direct_uploads: Literal[True] = Field(description="`POST /files/uploads` exists")
    storage: Literal["s3", "disk", "memory"] = Field(description="disk, memory: development")
    dev_mailbox: bool = Field(description="`GET /dev/mailbox` exists (development only)")
    simulated_rooms: Literal[True] = Field(description="`simulated: true` adds a peer")


class ClientConfigOut(BaseModel):
    """Limits and features of this deployment, for forms to check before sending."""

    uploads: UploadLimits
    tokens: TokenLifetimes
    passwords: PasswordRules
    name_max: int = Field(description="characters in a display name")
    chat: ChatLimits
    rate_limits: RateLimits
    features: Features
