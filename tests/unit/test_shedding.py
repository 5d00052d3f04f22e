"""The in-flight limit (entrypoints/http/shedding.py): beyond it a request waits for a place
a bounded time, then gets a 503 in the contract's shape; below it, and for anything but plain
HTTP, the app is called."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from entrypoints.http.shedding import InFlightLimit

pytestmark = pytest.mark.unit


class Gate:
    """An ASGI app that answers 200 once released."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await self.open.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def call(
    app: InFlightLimit,
    kind: str = "http",
    request_id: bytes = b"",
    method: str = "GET",
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> list[Any]:
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    sent_headers = [*headers, *([(b"x-request-id", request_id)] if request_id else [])]
    scope = {"type": kind, "method": method, "path": "/x", "headers": sent_headers}
    await app(scope, receive, send)
    return sent


async def test_a_request_that_finds_no_place_in_time_gets_a_503_in_the_contract_shape() -> None:
    gate = Gate()
    app = InFlightLimit(gate, limit=2, max_wait_s=0.01)
    held = [asyncio.create_task(call(app)) for _ in range(2)]
    await asyncio.sleep(0)
    refused = await call(app, request_id=b"abc-123")
    start, body = refused
    assert start["status"] == 503
    headers = dict(start["headers"])
    assert headers[b"retry-after"] == b"1"
    assert headers[b"x-request-id"] == b"abc-123"
    assert json.loads(body["body"]) == {
        "error": {
            "code": "service_unavailable",
            "message": "The server is busy; try again shortly.",
            "request_id": "abc-123",
        }
    }
    assert (gate.calls, app.in_flight, app.shed) == (2, 2, 1)
    gate.open.set()
    assert [r[0]["status"] for r in await asyncio.gather(*held)] == [200, 200]
    assert app.in_flight == 0
    assert (await call(app))[0]["status"] == 200


async def test_a_waiting_request_takes_the_place_that_frees_and_a_full_queue_refuses() -> None:
    gate = Gate()
    app = InFlightLimit(gate, limit=1, max_wait_s=5.0, max_waiting=1)
    first = asyncio.create_task(call(app))
    await asyncio.sleep(0)
    second = asyncio.create_task(call(app))  # waits
    await asyncio.sleep(0)
    assert app.waiting == 1
    third = await call(app)  # the queue is full: refused at once
    assert third[0]["status"] == 503
    gate.open.set()
    assert [r[0]["status"] for r in await asyncio.gather(first, second)] == [200, 200]
    assert (gate.calls, app.shed, app.in_flight, app.waiting) == (2, 1, 0, 0)


async def test_websockets_and_the_lifespan_are_not_counted_and_zero_means_no_limit() -> None:
    gate = Gate()
    gate.open.set()
    app = InFlightLimit(gate, limit=0)
    assert (await call(app))[0]["status"] == 200
    blocked = Gate()
    limited = InFlightLimit(blocked, limit=1)
    held = asyncio.create_task(call(limited))
    await asyncio.sleep(0)
    websocket = asyncio.create_task(call(limited, kind="websocket"))
    await asyncio.sleep(0)
    assert blocked.calls == 2  # the websocket reached the app despite the full limit
    blocked.open.set()
    await asyncio.gather(held, websocket)


async def test_a_shed_503_carries_cors_headers_for_an_allowed_origin_only() -> None:
    # without them a browser's script sees a network error instead of the 503 and Retry-After
    gate = Gate()
    app = InFlightLimit(gate, limit=1, max_wait_s=0.01, cors_origins=("https://app.example",))
    held = asyncio.create_task(call(app))
    await asyncio.sleep(0)

    allowed = dict((await call(app, headers=((b"origin", b"https://app.example"),)))[0]["headers"])
    other = dict((await call(app, headers=((b"origin", b"https://evil.example"),)))[0]["headers"])

    assert allowed[b"access-control-allow-origin"] == b"https://app.example"
    assert b"Retry-After" in allowed[b"access-control-expose-headers"]
    assert allowed[b"vary"] == b"Origin"
    assert allowed[b"access-control-allow-credentials"] == b"true"
    assert b"access-control-allow-origin" not in other
    anywhere = InFlightLimit(gate, limit=1, max_wait_s=0.01, cors_origins=("*",))
    anywhere.in_flight = 1
    start = (await call(anywhere, headers=((b"origin", b"http://localhost:5173"),)))[0]
    assert (start["status"], dict(start["headers"])[b"access-control-allow-origin"]) == (503, b"*")
    assert b"access-control-allow-credentials" not in dict(start["headers"])
    gate.open.set()
    await held


async def test_cors_preflights_pass_a_full_server() -> None:
    gate = Gate()
    gate.open.set()
    app = InFlightLimit(gate, limit=1, max_wait_s=0.01)
    app.in_flight = 1  # full
    preflight = ((b"origin", b"https://app.example"), (b"access-control-request-method", b"POST"))

    assert (await call(app, method="OPTIONS", headers=preflight))[0]["status"] == 200
    assert (await call(app, method="OPTIONS"))[0]["status"] == 503  # a plain OPTIONS is counted


class Turnstile:
    """An ASGI app whose requests each wait for their own release, in arrival order."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        name = scope["path"]
        self.entered.append(name)
        gate = self.gates.setdefault(name, asyncio.Event())
        await gate.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def call_path(app: InFlightLimit, path: str, client: str = "10.0.0.1") -> int:
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "client": (client, 1)}
    await app(scope, receive, send)
    return int(sent[0]["status"])


async def test_a_freed_place_goes_to_the_oldest_waiter_not_to_a_newcomer() -> None:
    app_ = Turnstile()
    app = InFlightLimit(app_, limit=1, max_wait_s=0.3, per_client=10)
    first = asyncio.create_task(call_path(app, "/first"))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(call_path(app, "/waiter"))
    await asyncio.sleep(0)
    app_.gates.setdefault("/first", asyncio.Event()).set()
    newcomer = asyncio.create_task(call_path(app, "/newcomer"))  # arrives as the place frees
    await asyncio.sleep(0.01)
    assert app_.entered == ["/first", "/waiter"]
    app_.gates.setdefault("/waiter", asyncio.Event()).set()
    app_.gates.setdefault("/newcomer", asyncio.Event()).set()
    assert list(await asyncio.gather(first, waiter, newcomer)) == [200, 200, 200]
    assert (app.in_flight, app.waiting) == (0, 0)


async def test_a_body_that_trickles_holds_no_place_and_gets_a_408() -> None:
    app_ = Turnstile()
    app = InFlightLimit(app_, limit=1, max_wait_s=0.5, body_deadline_s=0.2, per_client=10)
    never = asyncio.Event()

    async def slow_receive() -> Any:
        await never.wait()
        return {"type": "http.request", "body": b""}

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/slow", "headers": []}
    slow = asyncio.create_task(app(scope, slow_receive, send))
    await asyncio.sleep(0.01)
    assert app.in_flight == 0
    app_.gates["/fast"] = asyncio.Event()
    app_.gates["/fast"].set()
    assert await call_path(app, "/fast") == 200  # the slow body holds no place
    await slow
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"])["error"]["code"] == "request_timeout"
    assert "/slow" not in app_.entered


async def test_one_client_holds_at_most_its_share_and_others_still_get_in() -> None:
    app_ = Turnstile()
    app = InFlightLimit(app_, limit=4, max_wait_s=0.2, per_client=2)
    mine = [asyncio.create_task(call_path(app, f"/mine{i}", "10.0.0.9")) for i in range(3)]
    await asyncio.sleep(0.01)
    assert await mine[2] == 503  # refused at once, past its share
    other = asyncio.create_task(call_path(app, "/other", "10.0.0.7"))
    await asyncio.sleep(0.01)
    assert "/other" in app_.entered
    for gate in ("/mine0", "/mine1", "/other"):
        app_.gates[gate].set()
    assert list(await asyncio.gather(*mine[:2], other)) == [200, 200, 200]


async def test_a_shed_503_follows_the_origin_patterns() -> None:
    gate = Gate()
    app = InFlightLimit(gate, limit=1, max_wait_s=0.01, cors_origins=("https://app-*.example",))
    app.in_flight = 1  # full
    preview = ((b"origin", b"https://app-pr-7.example"),)
    look_alike = ((b"origin", b"https://app-pr-7.example.evil.com"),)
    allowed = (await call(app, headers=preview))[0]
    refused = (await call(app, headers=look_alike))[0]
    assert allowed["status"] == refused["status"] == 503
    assert dict(allowed["headers"])[b"access-control-allow-origin"] == b"https://app-pr-7.example"
    assert b"access-control-allow-origin" not in dict(refused["headers"])
