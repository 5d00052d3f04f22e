from __future__ import annotations

import re
import uuid

from quart import Quart, Response, g, has_request_context, request

HEADER = "X-Request-ID"
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


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


def install_request_id(app: Quart) -> None:
    @app.before_request
    async def assign() -> None:
        current_request_id()

    @app.after_request
    async def echo(response: Response) -> Response:
        response.headers[HEADER] = current_request_id()
        return response
