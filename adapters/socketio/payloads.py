"""Chat values in the contract's JSON shapes, the same over HTTP and Socket.IO."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.chat.model import Message, Room


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a Z: 2026-11-26T07:12:24.123Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def room_json(room: Room) -> dict[str, Any]:
    return {
        "id": room.id,
        "name": room.name,
        "member_ids": list(room.member_ids),
        "simulated": room.simulated,
        "created_at": iso(room.created_at),
        "last_seq": room.last_seq,
    }


def message_json(message: Message) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": message.id,
        "room_id": message.room_id,
        "sender_id": message.sender_id,
        "body": message.body,
        "seq": message.seq,
    }
    if message.client_id is not None:
        body["client_id"] = message.client_id
    body["created_at"] = iso(message.created_at)
    return body
