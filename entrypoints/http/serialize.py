"""Domain values in the contract's JSON shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.auth.model import ResetGrant, TokenPair, UserProfile
from domain.files.model import StoredFile, UploadTicket


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a Z: 2026-11-26T07:12:24.123Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def user_json(user: UserProfile) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "email_verified": user.email_verified,
        "created_at": iso(user.created_at),
    }


def token_pair_json(pair: TokenPair) -> dict[str, Any]:
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": pair.token_type,
        "expires_in": pair.expires_in,
        "user": user_json(pair.user),
    }


def reset_grant_json(grant: ResetGrant) -> dict[str, Any]:
    return {"reset_token": grant.reset_token, "expires_in": grant.expires_in}


def file_json(file: StoredFile, download_url: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": file.id,
        "name": file.name,
        "size": file.size,
        "content_type": file.content_type,
        "status": file.status.value,
        "created_at": iso(file.created_at),
    }
    if download_url is not None:
        body["download_url"] = download_url
    return body


def upload_ticket_json(ticket: UploadTicket, url: str) -> dict[str, Any]:
    return {
        "file": file_json(ticket.file),
        "upload": {
            "url": url,
            "method": ticket.upload.method,
            "fields": ticket.upload.fields,
            "expires_at": iso(ticket.upload.expires_at),
        },
    }
