"""🔒 routes: the bearer access token, the caller's identity and the per-user API quota.

A guarded handler receives the caller as its first argument, a `Principal`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Concatenate

from quart import Quart, Response, g, request
from quart_schema import security_scheme

from adapters.telemetry import context as log_context
from domain.auth.principal import Principal
from domain.errors import ServiceUnavailable, TooManyRequests, Unauthorized
from entrypoints.http.deps import container

log = logging.getLogger("flowhub.http")


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("A bearer access token is required.")
    return token.strip()


def client_ip() -> str:
    """The caller's address, as the trusted proxy reports it (entrypoints/client_address.py)."""
    return request.remote_addr or "unknown"


def authenticated[**P, R](
    handler: Callable[Concatenate[Principal, P], Awaitable[R]],
) -> Callable[P, Awaitable[R]]:
    """Require a valid access token and hand the handler its `Principal`, then count the
    request against the caller's quota (`rate:<userId>:api`). The quota fails open: with Redis
    down requests still pass."""

    @security_scheme([{"bearer": []}])
    @wraps(handler)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        c = container()
        principal = await c.services.authenticator().authenticate(bearer_token())
        g.principal = principal  # for the request's log lines and error reports
        log_context.annotate(user_id=principal.user_id)  # on every log line from here on
        try:
            window = await c.services.api_quota().count(principal.user_id)
        except ServiceUnavailable:
            log.warning("API rate limit unavailable; letting the request through")
        else:
            g.rate_window = window
            if window.exceeded:
                raise TooManyRequests(window.reset_in_s)
        return await handler(principal, *args, **kwargs)

    return guarded


def install_rate_headers(app: Quart) -> None:
    @app.after_request
    async def rate_headers(response: Response) -> Response:
        window = g.get("rate_window")
        if window is not None:
            response.headers["X-RateLimit-Limit"] = str(window.limit)
            response.headers["X-RateLimit-Remaining"] = str(window.remaining)
            response.headers["X-RateLimit-Reset"] = str(window.reset_in_s)
        return response
