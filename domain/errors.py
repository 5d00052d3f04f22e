"""Domain errors: what went wrong, in the domain's words.

Each carries a stable snake_case `code` that clients see. The HTTP and Socket.IO entry points
map codes to transport statuses in one place; the domain never speaks HTTP.
"""

from __future__ import annotations


class DomainError(Exception):
    code: str = "domain_error"
    default_message: str = "The request could not be completed."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class NotFound(DomainError):
    code = "not_found"
    default_message = "The resource does not exist."


class Conflict(DomainError):
    code = "conflict"
    default_message = "The request conflicts with the current state."


class Unauthorized(DomainError):
    code = "unauthorized"
    default_message = "Authentication is required."


class Forbidden(DomainError):
    code = "forbidden"
    default_message = "This action is not allowed."


class TooManyRequests(DomainError):
    code = "too_many_requests"
    default_message = "Too many requests; try again later."

    def __init__(self, retry_after_s: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)


class ServiceUnavailable(DomainError):
    """A dependency the operation needs is unreachable; the caller may retry."""

    code = "service_unavailable"
    default_message = "The service is temporarily unavailable; try again shortly."


class InvalidCursor(DomainError):
    """A listing's cursor it did not give (files, rooms): 400."""

    code = "invalid_cursor"
    default_message = "The cursor is not valid; start the listing again."
