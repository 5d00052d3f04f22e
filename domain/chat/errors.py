from __future__ import annotations

from domain.errors import Conflict, DomainError


class InvalidInput(DomainError):
    code = "validation_error"
    default_message = "The request is not valid."


class DuplicateMessage(Conflict):
    """A message with this (room, sender, client_id) or this (room, seq) is already stored."""

    default_message = "This message was already sent."
