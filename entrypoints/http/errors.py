"""Every failure leaves the HTTP layer in the contract's error shape, and only here.

`{"error": {"code", "message", "request_id", "details"?}}`: no traceback, driver text or path
ever reaches a client; the full exception goes to the log with the request id, and to the error
reporter (Rollbar) once, with the request id, route, user id and code version. 4xx outcomes are
answers, not errors: they are neither logged as errors nor reported.
"""

from __future__ import annotations

import logging
from typing import Any

from quart import Quart, Response, got_request_exception, jsonify, request
from quart_schema import RequestSchemaValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from domain.chat.errors import InvalidInput
from domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)
from domain.files.errors import (
    PayloadTooLarge,
    QuotaExceeded,
    UnsupportedMediaType,
    UploadIncomplete,
)
from entrypoints.http.deps import container
from entrypoints.http.request_id import caller_id, current_request_id, current_route
from ports.errors import ErrorContext

log = logging.getLogger("flowhub.http")

# Domain error class -> HTTP status, looked up along the error's MRO (as Starlette does), so a
# new error inherits its family's status and only a family of its own needs a row here.
DOMAIN_STATUS: dict[type[DomainError], int] = {
    DomainError: 400,
    NotFound: 404,
    Conflict: 409,
    Unauthorized: 401,
    Forbidden: 403,
    TooManyRequests: 429,
    ServiceUnavailable: 503,
    InvalidInput: 422,
    PayloadTooLarge: 413,
    QuotaExceeded: 413,
    UnsupportedMediaType: 415,
    UploadIncomplete: 409,
}


def domain_status(error: DomainError) -> int:
    """The status of the nearest class in the error's MRO that has one."""
    for cls in type(error).__mro__:
        status = DOMAIN_STATUS.get(cls)
        if status is not None:
            return status
    return 400  # unreachable: every DomainError has DomainError in its MRO


ADMIN_PREFIX = "/api/v1/admin"  # entrypoints/http/admin.py: unknown to all but administrators

# Werkzeug's HTTP errors, in our words.
HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request could not be understood."),
    401: ("unauthorized", "Authentication is required."),
    403: ("forbidden", "This action is not allowed."),
    404: ("not_found", "The requested resource does not exist."),
    405: ("method_not_allowed", "This method is not allowed on this resource."),
    408: ("request_timeout", "The request took too long to arrive."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "The request body's media type is not supported."),
    429: ("too_many_requests", "Too many requests; try again later."),
    431: ("headers_too_large", "The request headers are too large."),
    500: ("internal_error", "Something went wrong on our side."),
    503: ("service_unavailable", "The service is temporarily unavailable; try again shortly."),
}


class MalformedJson(HTTPException):
    code = 400
    description = "The request body is not valid JSON."


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    error: dict[str, Any] = {"code": code, "message": message, "request_id": current_request_id()}
    if details:
        error["details"] = details
    response = jsonify({"error": error})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def validation_details(error: RequestSchemaValidationError) -> list[dict[str, Any]]:
    """The offending fields and why, never the offending values (they may be passwords)."""
    cause = error.validation_error
    errors = getattr(cause, "errors", None)
    if not callable(errors):
        return [{"field": "", "message": "The request body does not match the expected schema."}]
    details = []
    for item in errors(include_url=False, include_input=False, include_context=False):
        field = ".".join(str(part) for part in item.get("loc", ()))
        details.append(
            {"field": field, "message": item.get("msg", "is invalid"), "type": item.get("type")}
        )
    return details


def register_error_handlers(app: Quart) -> None:
    @app.errorhandler(RequestSchemaValidationError)
    async def on_validation(error: RequestSchemaValidationError) -> Response:
        if request.method not in ("GET", "HEAD") and await _has_non_json_body():
            return error_response(
                415, "unsupported_media_type", "Send the request body as application/json."
            )
        return error_response(
            422, "validation_error", "The request is not valid.", validation_details(error)
        )

    @app.errorhandler(DomainError)
    async def on_domain_error(error: DomainError) -> Response:
        headers = {}
        if isinstance(error, TooManyRequests):
            headers["Retry-After"] = str(error.retry_after_s)
            _record_refusal(error)
        status = domain_status(error)
        if status >= 500:  # a dependency is down: an error, unlike the 4xx answers
            report_unexpected(error)
        return error_response(status, error.code, error.message, headers=headers)

    @app.errorhandler(MalformedJson)
    async def on_malformed_json(error: MalformedJson) -> Response:
        return error_response(400, "invalid_json", "The request body is not valid JSON.")

    @app.errorhandler(HTTPException)
    async def on_http_error(error: HTTPException) -> Response:
        status = error.code or 500
        if status == 405 and request.path.startswith(ADMIN_PREFIX + "/"):
            status = 404  # an admin route's methods would tell that it exists
        code, message = HTTP_CODES.get(
            status, (f"http_{status}", "The request could not be completed.")
        )
        headers = {}
        if status == 405 and isinstance(error, MethodNotAllowed) and error.valid_methods:
            headers["Allow"] = ", ".join(sorted(error.valid_methods))
        return error_response(status, code, message, headers=headers)

    @app.errorhandler(Exception)
    async def on_unexpected(error: Exception) -> Response:
        report_unexpected(error)
        code, message = HTTP_CODES[500]
        return error_response(500, code, message)

    async def outside_handlers(sender: Quart, exception: BaseException, **_: object) -> None:
        """An exception Quart caught outside the handlers (an after-request hook): Quart logs
        it and answers 500; it is reported here."""
        if isinstance(exception, Exception):
            _report(exception)

    got_request_exception.connect(outside_handlers, app, weak=False)


def _record_refusal(error: TooManyRequests) -> None:
    """Every limit that refuses a request is a security event: the route and the account,
    never an address (the request line beside it carries the client's IP)."""
    fields: dict[str, str | int] = {"route": current_route() or "unknown"}
    fields["retry_in_s"] = error.retry_after_s
    user_id = caller_id()
    if user_id is not None:
        fields["user_id"] = user_id
    container().adapters.events().warn("rate_limited", **fields)


def report_unexpected(error: Exception) -> None:
    """Log an unhandled exception with its request, and report it once."""
    log.error(
        "%s %s failed (request %s)",
        request.method,
        request.path,
        current_request_id(),
        exc_info=error,
        extra={"route": current_route(), "user_id": caller_id()},
    )
    _report(error)


def _report(error: Exception) -> None:
    try:
        reporter = container().adapters.errors()
        reporter.report(
            error,
            ErrorContext(
                "http",
                route=current_route(),
                request_id=current_request_id(),
                user_id=caller_id(),
                method=request.method,
            ),
        )
    except Exception:  # reporting must never turn one failure into two
        log.warning("could not report an unhandled exception", exc_info=True)


async def _has_non_json_body() -> bool:
    if request.is_json:
        return False
    return bool(request.content_length) or bool(request.mimetype)
