"""The plain `GET /health` answered in front of everything else.

It is the platform's probe (Fly every 15 s, Render, uptime monitors), it touches no dependency,
and it has to answer when the app is busiest: so it is not queued behind the load shedder, not
routed through python-socketio's and Quart's machinery, and not logged as a request line (a
probe every 15 s is 5,760 lines a day of the log allowance saying nothing). Its body and headers
are the ones the Quart route gives (`entrypoints/http/health.py`, which still serves `?deep=1`
and documents the route in OpenAPI). docs/decisions/performance-baseline.md has the measurement.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from config.origins import OriginPolicy

type Scope = MutableMapping[str, Any]
type ASGIApp = Callable[..., Awaitable[None]]

STARTED = time.monotonic()
PATH = "/health"
_ACCEPTABLE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
_EXPOSE = (
    b"access-control-expose-headers",
    b"X-Request-ID, ETag, Retry-After, X-CSRF-Token, X-RateLimit-Limit, X-RateLimit-Remaining,"
    b" X-RateLimit-Reset",
)


def uptime_s() -> float:
    return round(time.monotonic() - STARTED, 3)


class HealthProbe:
    def __init__(self, app: ASGIApp, version: str, origins: OriginPolicy) -> None:
        self.app = app
        self.version = version
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope.get("path") != PATH
            or scope.get("method") not in ("GET", "HEAD")
            or _asks_deep(scope.get("query_string", b""))
        ):
            await self.app(scope, receive, send)
            return
        body = (
            json.dumps(
                {"status": "ok", "version": self.version, "uptime_s": uptime_s()},
                separators=(",", ":"),
            ).encode()
            + b"\n"
        )
        headers = dict(scope.get("headers") or [])
        sent = headers.get(b"x-request-id", b"")
        request_id = sent if _ACCEPTABLE_ID.match(sent) else uuid.uuid4().hex.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                    (b"x-request-id", request_id),
                    *self._cors(headers.get(b"origin", b"")),
                ],
            }
        )
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

    def _cors(self, origin: bytes) -> list[tuple[bytes, bytes]]:
        """What quart-cors (entrypoints/http/app.py) adds: the origin when allowed, and `Vary`
        unless the answer is `*` for everyone."""
        vary = (b"vary", b"Origin")
        if self.origins.anything:
            return [(b"access-control-allow-origin", b"*"), _EXPOSE] if origin else [vary]
        if origin and self.origins.allows(origin.decode("latin-1")):
            # listed origins may send credentials (the refresh-token cookie's routes), as the
            # app answers them everywhere
            credentials = (b"access-control-allow-credentials", b"true")
            return [(b"access-control-allow-origin", origin), credentials, _EXPOSE, vary]
        return [vary]


def _asks_deep(query: bytes) -> bool:
    """Any `deep` parameter goes to the Quart route, which decides what it means."""
    return bool(query) and any(k == "deep" for k, _ in parse_qsl(query.decode("latin-1")))
