"""Load shedding: at most `limit` HTTP requests in the app at once; beyond that the answer is
an immediate `503 service_unavailable` (contract shape, `Retry-After: 1`) instead of a place in
a queue whose wait grows with the load.

Without it, past the server's peak every extra client only made every request slower (the
event loop shares itself between all of them: latency = clients / throughput, unbounded), and
a stalled dependency let requests pile up without limit. Measured with `bench/load.py`
(RELIABILITY.md). Only plain HTTP is counted: Socket.IO (its own ASGI app, beside this one)
and the lifespan pass by. The answer is built here, outside Quart, so that a refusal costs
next to nothing; it is logged as one request line like any other.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

log = logging.getLogger("flowhub.requests")

type Scope = MutableMapping[str, Any]
type Message = MutableMapping[str, Any]
type Receive = Callable[[], Awaitable[Message]]
type Send = Callable[[Message], Awaitable[None]]
type ASGIApp = Callable[..., Awaitable[None]]  # Quart types its own scopes more narrowly

_ACCEPTABLE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
MESSAGE = "The server is busy; try again shortly."


class InFlightLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0
        self.shed = 0  # refused since start

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            self.shed += 1
            await self._refuse(scope, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _refuse(self, scope: Scope, send: Send) -> None:
        sent = dict(scope.get("headers") or []).get(b"x-request-id", b"")
        request_id = sent.decode() if _ACCEPTABLE_ID.match(sent) else uuid.uuid4().hex
        body = json.dumps(
            {
                "error": {
                    "code": "service_unavailable",
                    "message": MESSAGE,
                    "request_id": request_id,
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", b"1"),
                    (b"cache-control", b"no-store"),
                    (b"x-request-id", request_id.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        log.info(
            "%s %s 503 (shed)",
            scope.get("method"),
            scope.get("path"),
            extra={
                "method": scope.get("method"),
                "status": 503,
                "request_id": request_id,
                "in_flight": self.in_flight,
            },
        )
