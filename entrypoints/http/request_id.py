"""Request ids, the request's log context, and the one INFO line per request.

Every response carries `X-Request-ID` (the client's, if it sent a sane one). While a request is
served, every log line carries its `request_id` (and `user_id` once the token is verified), and
when it ends one `flowhub.requests` INFO line says what it was: method, route (the URL rule,
`/api/v1/files/<id>`: no ids or query strings), status, duration in ms, request and user ids,
and the client's IP as the trusted proxy reports it (entrypoints/client_address.py).
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from quart import Quart, Response, g, has_request_context, request

from adapters.telemetry import context as log_context
from domain.auth.principal import Principal

HEADER = "X-Request-ID"
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

log = logging.getLogger("flowhub.requests")


def current_request_id() -> str:
    """The id of the request being served: the client's if it sent a sane one, else ours."""
    if not has_request_context():
        return uuid.uuid4().hex
    rid: str | None = g.get("request_id")
    if rid is None:
        sent = request.headers.get(HEADER, "")
        rid = sent if _ACCEPTABLE.match(sent) else uuid.uuid4().hex
        g.request_id = rid
    return rid


def current_route() -> str | None:
    """The URL rule that matched (`/api/v1/files/<id>`), None for an unknown route."""
    rule = request.url_rule if has_request_context() else None
    return rule.rule if rule is not None else None


def install_request_id(app: Quart) -> None:
    """Install first: after-request hooks run in reverse order, so this one runs last and its
    duration covers the others."""

    @app.before_request
    async def assign() -> None:
        g.request_started = time.perf_counter()
        g.log_context = log_context.bind(request_id=current_request_id())

    @app.after_request
    async def echo(response: Response) -> Response:
        response.headers[HEADER] = current_request_id()
        if log.isEnabledFor(logging.INFO):
            _log_request(response.status_code)
        return response

    @app.teardown_request
    async def forget(_: BaseException | None) -> None:
        token = g.pop("log_context", None)
        if token is not None:
            log_context.unbind(token)


def _log_request(status: int) -> None:
    started: float | None = g.get("request_started")
    route = current_route()
    fields: dict[str, object] = {
        "method": request.method,
        "route": route,
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        "request_id": current_request_id(),
        "client_ip": request.remote_addr or "unknown",
    }
    if route is None:
        fields["path"] = request.path[:200]
    user_id = caller_id()
    if user_id is not None:
        fields["user_id"] = user_id
    log.info("%s %s %d", request.method, route or request.path[:200], status, extra=fields)


def caller_id() -> str | None:
    """The caller's user id once the guard let the request in (entrypoints/http/guard.py)."""
    principal: Principal | None = g.get("principal")
    return principal.user_id if principal is not None else None
