"""Load shedding: at most `limit` HTTP requests in the app at once; a request beyond that
waits for a place at most `max_wait_s` (1 s), and is answered `503 service_unavailable`
(contract shape, `Retry-After: 1`) when none came free in time, or at once when `max_waiting`
requests already wait. The latency of a request is so bounded by the wait plus its own time,
whatever the load, and the event loop spends itself on the requests it serves. Waiting rather
than refusing at once keeps clients that retry at once from turning the server into a refusal
machine (docs/decisions/load-shedding.md).

Only plain HTTP is counted: Socket.IO (its own ASGI app, beside this one) and the lifespan pass
by, and so do CORS preflights (a shed preflight would reach the browser as a CORS failure, not
as the 503). A refusal is built here, outside Quart, so it costs next to nothing; it carries the
CORS headers quart-cors would have added, so that a browser's script reads the 503 and its
`Retry-After` instead of a network error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from config.origins import OriginPolicy

log = logging.getLogger("flowhub.requests")

type Scope = MutableMapping[str, Any]
type Message = MutableMapping[str, Any]
type Receive = Callable[[], Awaitable[Message]]
type Send = Callable[[Message], Awaitable[None]]
type ASGIApp = Callable[..., Awaitable[None]]  # Quart types its own scopes more narrowly

_ACCEPTABLE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
MESSAGE = "The server is busy; try again shortly."
SLOW_BODY = "The request body took too long to arrive."


class InFlightLimit:
    """The gate in front of the HTTP app.

    Places are handed over first come, first served: a place that frees goes to the oldest
    waiter, never to a request that arrives meanwhile, so no waiter sleeps out its `max_wait_s`
    while places come and go. A request's body, up to `prefetch_bytes`, is read before it takes
    a place and must arrive within `body_deadline_s` (else 408), so a client that trickles a small
    body holds a connection, never a place. One client (its address) holds at most `per_client`
    places and waiting spots together; past that it gets the 503 at once.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        *,
        cors_origins: tuple[str, ...] = (),
        max_wait_s: float = 1.0,
        max_waiting: int | None = None,
        per_client: int | None = None,
        prefetch_bytes: int = 64 * 1024,
        body_deadline_s: float = 5.0,
    ) -> None:
        self.app = app
        self.origins = OriginPolicy.of(cors_origins)
        self.limit = limit
        self.max_wait_s = max_wait_s
        self.max_waiting = 16 * limit if max_waiting is None else max_waiting
        self.per_client = max(1, limit // 4) if per_client is None else per_client
        self.prefetch_bytes = prefetch_bytes
        self.body_deadline_s = body_deadline_s
        self.in_flight = 0
        self.shed = 0  # refused since start
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._by_client: Counter[str] = Counter()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0 or _is_preflight(scope):
            await self.app(scope, receive, send)
            return
        client = _client_of(scope)
        if client is not None and self._by_client[client] >= self.per_client:
            await self._shed(scope, send)
            return
        if client is not None:
            self._by_client[client] += 1
        try:
            await self._admit(scope, receive, send)
        finally:
            if client is not None:
                self._by_client[client] -= 1
                if not self._by_client[client]:
                    del self._by_client[client]

    async def _admit(self, scope: Scope, receive: Receive, send: Send) -> None:
        replay = await self._prefetch(receive)
        if replay is None:
            await _refuse(scope, send, 408, SLOW_BODY, self._cors(scope))
            return
        if not await self._take_a_place():
            await self._shed(scope, send)
            return
        try:
            await self.app(scope, replay, send)
        finally:
            self._release()

    async def _prefetch(self, receive: Receive) -> Receive | None:
        """The body's first `prefetch_bytes` (all of a small body), read within the deadline;
        a receive that replays them, then goes on reading. None when the deadline passed."""
        buffered: list[Message] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_deadline_s):
                while size < self.prefetch_bytes:
                    message = await receive()
                    buffered.append(message)
                    if message["type"] != "http.request" or not message.get("more_body"):
                        break
                    size += len(message.get("body", b""))
        except TimeoutError:
            return None
        buffered.reverse()

        async def replay() -> Message:
            return buffered.pop() if buffered else await receive()

        return replay

    async def _take_a_place(self) -> bool:
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return True
        if len(self._waiters) >= self.max_waiting:
            return False
        handed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(handed)
        try:
            await asyncio.wait_for(asyncio.shield(handed), self.max_wait_s)
        except TimeoutError:
            if handed.done():  # handed over just as the wait ran out: the place is ours
                return True
            self._waiters.remove(handed)
            handed.cancel()
            return False
        except BaseException:
            if handed.done() and not handed.cancelled():
                self._release()  # cancelled after the hand-over: pass the place on
            else:
                self._waiters.remove(handed)
                handed.cancel()
            raise
        return True

    def _release(self) -> None:
        """Hand the place to the oldest waiter, or give it back."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.in_flight -= 1

    async def _shed(self, scope: Scope, send: Send) -> None:
        self.shed += 1
        await _refuse(scope, send, 503, MESSAGE, self._cors(scope))
        log.info(
            "%s %s 503 (shed)",
            scope.get("method"),
            scope.get("path"),
            extra={
                "method": scope.get("method"),
                "status": 503,
                "in_flight": self.in_flight,
            },
        )

    def _cors(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        return self._cors_headers(dict(scope.get("headers") or []).get(b"origin", b""))

    def _cors_headers(self, origin: bytes) -> list[tuple[bytes, bytes]]:
        """What quart-cors (entrypoints/http/app.py) adds for an allowed origin."""
        if not origin:
            return []
        if self.origins.anything:
            allowed = b"*"
        elif self.origins.allows(origin.decode("latin-1")):
            allowed = origin
        else:
            return []
        headers = [
            (b"access-control-allow-origin", allowed),
            (b"access-control-expose-headers", b"X-Request-ID, Retry-After"),
            (b"vary", b"Origin"),
        ]
        if not self.origins.anything:
            # a credentialed call (the refresh-token cookie, entrypoints/http/cookies.py) reads
            # the 503 only with this, as quart-cors sends it for a listed origin
            headers.append((b"access-control-allow-credentials", b"true"))
        return headers


async def _refuse(
    scope: Scope,
    send: Send,
    status: int,
    message: str,
    extra_headers: list[tuple[bytes, bytes]],
) -> None:
    """An answer in the contract's error shape, built here, outside Quart, so it costs next to
    nothing."""
    headers = dict(scope.get("headers") or [])
    sent = headers.get(b"x-request-id", b"")
    request_id = sent.decode() if _ACCEPTABLE_ID.match(sent) else uuid.uuid4().hex
    code = "service_unavailable" if status == 503 else "request_timeout"
    body = json.dumps(
        {"error": {"code": code, "message": message, "request_id": request_id}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *([(b"retry-after", b"1")] if status == 503 else [(b"connection", b"close")]),
                (b"cache-control", b"no-store"),
                (b"x-request-id", request_id.encode()),
                *extra_headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _client_of(scope: Scope) -> str | None:
    """The peer's address as the server saw it (after the trusted proxy's header, where one is
    configured); None where the server gives none (ASGI makes `client` optional)."""
    client = scope.get("client")
    return str(client[0]) if client else None


def _is_preflight(scope: Scope) -> bool:
    if scope.get("method") != "OPTIONS":
        return False
    return any(name == b"access-control-request-method" for name, _ in scope.get("headers") or [])
