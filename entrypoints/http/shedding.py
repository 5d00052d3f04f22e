"""Load shedding: at most `limit` HTTP requests in the app at once; a request beyond that
waits for a place at most `max_wait_s` (1 s), and is answered `503 service_unavailable`
(contract shape, `Retry-After: 1`) when none came free in time, or at once when `max_waiting`
requests already wait. The latency of a request is so bounded by the wait plus its own time,
whatever the load, and the event loop spends itself on the requests it serves.

Without it, past the server's peak every extra client only made every request slower (the
event loop shares itself between all of them: latency = clients / throughput, unbounded: 7.8 s
for one `/health` at 256 connections, bench/load.py). Refusing at once instead of waiting was
tried first: clients that retry at once (wrk) then made the server spend itself on refusals
(6,700 a second) and serve a third of its peak. Measured with `bench/load.py`
(RELIABILITY.md). Only plain HTTP is counted: Socket.IO (its own ASGI app, beside this one) and
the lifespan pass by, and so do CORS preflights (a shed preflight would reach the browser as a
CORS failure, not as the 503). A refusal is built here, outside Quart, so it costs next to
nothing; it carries the CORS headers quart-cors would have added, so that a browser's script
reads the 503 and its `Retry-After` instead of a network error.
"""

from __future__ import annotations

import asyncio
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
    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        *,
        cors_origins: tuple[str, ...] = (),
        max_wait_s: float = 1.0,
        max_waiting: int | None = None,
    ) -> None:
        self.app = app
        self.cors_origins = frozenset(cors_origins)
        self.limit = limit
        self.max_wait_s = max_wait_s
        self.max_waiting = 16 * limit if max_waiting is None else max_waiting
        self.in_flight = 0
        self.waiting = 0
        self.shed = 0  # refused since start
        self._freed: asyncio.Condition | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0 or _is_preflight(scope):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit and not await self._wait_for_a_place():
            self.shed += 1
            await self._refuse(scope, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            if self._freed is not None and self.waiting:
                async with self._freed:
                    self._freed.notify()

    async def _wait_for_a_place(self) -> bool:
        if self.waiting >= self.max_waiting:
            return False
        if self._freed is None:
            self._freed = asyncio.Condition()
        self.waiting += 1
        try:
            async with asyncio.timeout(self.max_wait_s), self._freed:
                await self._freed.wait_for(lambda: self.in_flight < self.limit)
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1
        return True

    def _cors_headers(self, origin: bytes) -> list[tuple[bytes, bytes]]:
        """What quart-cors (entrypoints/http/app.py) adds for an allowed origin."""
        if not origin:
            return []
        if "*" in self.cors_origins:
            allowed = b"*"
        elif origin.decode("latin-1") in self.cors_origins:
            allowed = origin
        else:
            return []
        return [
            (b"access-control-allow-origin", allowed),
            (b"access-control-expose-headers", b"X-Request-ID, Retry-After"),
            (b"vary", b"Origin"),
        ]

    async def _refuse(self, scope: Scope, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        sent = headers.get(b"x-request-id", b"")
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
                    *self._cors_headers(headers.get(b"origin", b"")),
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


def _is_preflight(scope: Scope) -> bool:
    if scope.get("method") != "OPTIONS":
        return False
    return any(name == b"access-control-request-method" for name, _ in scope.get("headers") or [])
