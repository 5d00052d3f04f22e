from __future__ import annotations

from domain.errors import Conflict, DomainError, Forbidden, ServiceUnavailable


class InvalidInput(DomainError):
    code = "validation_error"
    default_message = "The request is not valid."


class DuplicateMessage(Conflict):
    """A message with this (room, sender, client_id) or this (room, seq) is already stored."""

    default_message = "This message was already sent."


class RoomBusy(ServiceUnavailable):
    """The sends ahead in the room's turn did not finish in time (the store is slow); the
    client retries with the same client_id."""

    default_message = "The room is busy; try again shortly."


class NotTheSender(Forbidden):
    default_message = "Only its sender can edit or delete a message."


class EditWindowClosed(Conflict):
    code = "edit_window_closed"
    default_message = "This message can no longer be edited."


class MessageGone(Conflict):
    """The message is a tombstone: it cannot be edited."""

    default_message = "This message was deleted."
