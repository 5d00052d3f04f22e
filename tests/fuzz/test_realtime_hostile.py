"""Malformed Socket.IO traffic against a served process (websocket transport): junk payloads for
every event of the handler registry, unknown events, extra arguments, oversized payloads,
floods, bad namespaces and garbage Engine.IO/Socket.IO frames on a raw websocket; in the
development shape and on the real services (Socket.IO's Redis manager, MongoDB, S3 on moto).

Whatever a client sends, it gets an error ack in the contract's shape or its socket is
dropped; the process keeps serving (health 200), a bystander's socket keeps working, nothing of
another user's room ever reaches the attacker, and the server logs no unexpected exception.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
import socketio
import websockets

from config.container import build_container
from config.settings import load_settings
from entrypoints.realtime.server import chat_namespace, create_realtime_server
from tests.api.realtime_client import Account, Socket, call, connect, room_with, sign_up
from tests.fuzz.conftest import SECRETS
from tests.fuzz.served import Served, served
from tests.support.processes import http_get

pytestmark = pytest.mark.fuzz

MAX_BUFFER = 64 * 1024  # max_http_buffer_size of entrypoints/realtime/server.py
ERROR_CODES = {"validation_error", "not_found", "too_many_requests", "unknown_event"}
# engine.io drops a socket that sends an empty frame, logging it (and uvicorn the aftermath)
# as an error of its own: the one hostile frame still answered with ERROR lines (RELIABILITY.md)
ENGINEIO_EMPTY_FRAME = ("Unknown receive error", "Exception in ASGI application")

_emails = itertools.count()


def client_events() -> list[str]:
    """The events a client may send, from the server's own handler registry."""
    sio = create_realtime_server(build_container(load_settings({"APP_ENV": "test"})))
    events = sorted(set(chat_namespace(sio).EVENTS))
    assert events, "no Socket.IO event handlers registered"
    return events


EVENTS = client_events()


@pytest.fixture(scope="module", params=("memory", "real"))
def app(request: pytest.FixtureRequest) -> Iterator[Served]:
    """The development shape, and the real services (Socket.IO's Redis manager, MongoDB)."""
    # the per-socket event budget is tests/integration/test_socket_attacks.py's subject: here
    # the junk and the flood reach the handlers
    env = {"APP_ENV": "development", "SOCKET_EVENTS_PER_10S": "100000", **SECRETS}
    if request.param == "real":
        env |= request.getfixturevalue("real_env")
    with served("tests.support.server_app", env) as kept:
        yield kept
        errors = kept.errors(allowed=ENGINEIO_EMPTY_FRAME)
        assert errors == [], "".join(errors[:5])


async def account(app: Served, name: str) -> Account:
    return await sign_up(app.url, f"{name}{next(_emails)}-{time.time_ns()}@example.com", name)


async def room(app: Served, owner: Account, *others: Account) -> str:
    return str((await room_with(app.url, owner, *others, name="Private"))["id"])


def assert_error_ack(ack: Any, codes: set[str] = ERROR_CODES) -> None:
    assert isinstance(ack, dict), ack
    assert ack.get("ok") is False, ack
    error = ack["error"]
    assert set(error) == {"code", "message"}, ack
    assert error["code"] in codes and isinstance(error["message"], str), ack


def junk_payloads(rid: str) -> list[object]:
    """Wrong types everywhere, nulls, nesting, big lists, and almost-right objects."""
    deep: object = {"room_id": rid}
    for _ in range(200):
        deep = {"room_id": deep}
    return [
        None,
        "",
        "room",
        0,
        -1,
        1.5e308,
        True,
        [],
        [None],
        [rid],
        {},
        {"room_id": None},
        {"room_id": 12},
        {"room_id": 1.5},
        {"room_id": True},
        {"room_id": [rid]},
        {"room_id": {"$ne": None}},
        {"room_id": ""},
        {"room_id": "x" * 50_000},
        {"room_id": list(range(5_000))},
        deep,
        {"room_id": rid, "body": None, "is_typing": None},
        {"room_id": rid, "body": 5, "is_typing": "yes"},
        {"room_id": rid, "body": ["hi"], "is_typing": 1},
        {"room_id": rid, "body": {"text": "hi"}, "is_typing": [True]},
        {"room_id": rid, "body": "x" * 4_001, "is_typing": {}},
        {"room_id": rid, "body": "", "is_typing": 0},
        {"room_id": rid, "body": "   ", "client_id": 7, "is_typing": "true"},
    ]


@pytest_asyncio.fixture
async def bystander(app: Served) -> AsyncIterator[tuple[Socket, str]]:
    """Someone else, connected all along, in a room of their own."""
    carol = await account(app, "carol")
    rid = await room(app, carol)
    socket = await connect(app.url, carol)
    try:
        yield socket, rid
    finally:
        await socket.close()


async def assert_still_serving(app: Served, bystander: tuple[Socket, str]) -> None:
    socket, rid = bystander
    assert http_get(app.server.port, "/health")[0] == 200
    ack = await socket.ask("message:send", {"room_id": rid, "body": f"still here {time.time()}"})
    assert ack["ok"] is True, ack


async def test_every_event_answers_junk_with_an_error_ack(
    app: Served, bystander: tuple[Socket, str]
) -> None:
    eve = await account(app, "eve")
    own = await room(app, eve)  # a room of the attacker's: junk aimed at a room that exists
    socket = await connect(app.url, eve)
    answered = 0
    try:
        for event in EVENTS:
            for payload in junk_payloads(own):
                ack = await socket.ask(event, payload)
                answered += 1
                if ack == {"ok": True} and event == "room:join":
                    # its one field is right: the other fields' junk is none of its business
                    assert isinstance(payload, dict) and payload["room_id"] == own
                    continue
                assert_error_ack(ack)
        assert socket.client.connected
    finally:
        await socket.close()
    print(f"\n{answered} junk payloads over {len(EVENTS)} events ({', '.join(EVENTS)}): error acks")
    await assert_still_serving(app, bystander)


async def test_unknown_events_and_extra_arguments_get_error_acks(
    app: Served, bystander: tuple[Socket, str]
) -> None:
    eve = await account(app, "eve")
    own = await room(app, eve)
    socket = await connect(app.url, eve)
    try:
        for name in ("nope", "", "x" * 1_000, "__proto__", "message:new", "presence", "*"):
            ack = await socket.ask(name, {"room_id": own})
            assert_error_ack(ack, {"unknown_event"})
        for event in EVENTS:  # emit(event, a, b): one payload is the contract
            ack = await socket.client.call(event, ({"room_id": own}, {"body": "hi"}), timeout=5)
            assert_error_ack(ack, {"validation_error"})
        assert socket.client.connected
    finally:
        await socket.close()
    await assert_still_serving(app, bystander)


async def test_a_payload_over_the_buffer_limit_drops_the_socket(
    app: Served, bystander: tuple[Socket, str]
) -> None:
    eve = await account(app, "eve")
    own = await room(app, eve)
    socket = await connect(app.url, eve)
    try:
        near = await socket.ask("message:send", {"room_id": own, "body": "x" * (MAX_BUFFER - 200)})
        assert_error_ack(near, {"validation_error"})
        with pytest.raises(
            (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError)
        ):
            await socket.client.call(
                "message:send", {"room_id": own, "body": "x" * (4 * MAX_BUFFER)}, timeout=3
            )
        for _ in range(100):
            if not socket.client.connected:
                break
            await asyncio.sleep(0.05)
        assert not socket.client.connected
    finally:
        await socket.close()
    await assert_still_serving(app, bystander)


async def test_a_flood_is_answered_or_limited_and_leaves_the_others_alone(
    app: Served, bystander: tuple[Socket, str]
) -> None:
    eve = await account(app, "eve")
    own = await room(app, eve)
    socket = await connect(app.url, eve)
    started = time.monotonic()
    try:
        sends = [
            socket.client.call("message:send", {"room_id": own, "body": f"{n}"}, timeout=30)
            for n in range(300)
        ]
        typing = [
            socket.client.call("typing", {"room_id": own, "is_typing": n % 2 == 0}, timeout=30)
            for n in range(300)
        ]
        unknown = [socket.client.call("spam", n, timeout=30) for n in range(300)]
        acks = await asyncio.gather(*sends, *typing, *unknown)
        elapsed = time.monotonic() - started
        await assert_still_serving(app, bystander)
    finally:
        await socket.close()
    sent = [a for a in acks[:300] if a["ok"]]
    for ack in acks:
        if not ack["ok"]:
            assert_error_ack(ack)
    assert all(a == {"ok": True} or not a["ok"] for a in acks[300:600])
    assert all(a["error"]["code"] == "unknown_event" for a in acks[600:])
    limited = sum(1 for a in acks[:300] if not a["ok"])
    assert limited > 0  # the per-user send quota held
    status, page = await call(app.url, eve, "GET", f"/chat/rooms/{own}/messages?limit=100")
    assert status == 200
    seqs = [m["seq"] for m in page["items"]]
    assert seqs == list(range(1, len(sent) + 1))  # what was acknowledged, once, in order
    print(
        f"\nflood: 900 events in {elapsed:.2f} s; {len(sent)} messages accepted, "
        f"{limited} too_many_requests, 300 typing and 300 unknown answered"
    )


async def test_a_namespace_that_does_not_exist_is_refused(app: Served) -> None:
    eve = await account(app, "eve")
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            app.url,
            namespaces=["/admin"],
            transports=["websocket"],
            auth={"token": eve.token},
            wait_timeout=5,
        )
    await client.disconnect()


# Raw frames: (frame, what the server must do). "drop": the socket is closed, or told `41`
# (disconnected from the namespace) and `1` (engine.io CLOSE); "ignore": nothing comes back,
# and the socket stays usable.
FRAMES: list[tuple[str | bytes, str]] = [
    ("421[]", "drop"),
    ("421[123]", "drop"),
    ('421[{"a":1}]', "drop"),
    ("421[null]", "drop"),
    ('421["disconnect"]', "drop"),  # a client may not run the server's lifecycle handlers
    ('421["connect",{},{"token":"x"}]', "drop"),
    ("42", "drop"),
    ("4", "drop"),
    ("43[", "drop"),
    ('42{"not":"a list"}', "drop"),
    ('42["typing",' + "[" * 30_000 + "]" * 30_000 + "]", "drop"),  # past the JSON recursion limit
    ('451-["message:send",{"_placeholder":true,"num":0}]', "drop"),  # binary: not the contract
    ('45999999-["message:send",{"_placeholder":true,"num":0}]', "drop"),
    (b"\x00\xff\x00", "drop"),
    (b"", "drop"),
    ("", "drop"),
    ("9", "ignore"),
    ("6", "ignore"),
    ("2", "ignore"),
    ('42/admin,1["message:send",{}]', "ignore"),  # an event for a namespace never joined
    ("x" * (MAX_BUFFER + 1), "drop"),
]


async def raw_socket(app: Served, token: str) -> Any:
    ws = await websockets.connect(
        f"ws://127.0.0.1:{app.server.port}/socket.io/?EIO=4&transport=websocket", max_size=None
    )
    opened, connected = await ws.recv(), None
    await ws.send("40" + json.dumps({"token": token}))
    connected = await ws.recv()
    assert str(opened).startswith("0{") and str(connected).startswith("40{"), (opened, connected)
    return ws


async def outcome(ws: Any) -> str:
    try:
        reply = await asyncio.wait_for(ws.recv(), 1.5)
    except TimeoutError:
        return "ignore"
    except websockets.ConnectionClosed:
        return "drop"
    if reply in ("41", "1"):  # disconnected from the namespace; engine.io CLOSE
        return "drop"
    return f"answered {reply!r}"


async def test_garbage_frames_drop_the_socket_or_are_ignored(
    app: Served, bystander: tuple[Socket, str]
) -> None:
    eve = await account(app, "eve")
    own = await room(app, eve)
    seen: dict[str, str] = {}
    for frame, expected in FRAMES:
        ws = await raw_socket(app, eve.token)
        try:
            await ws.send(frame)
            got = await outcome(ws)
            seen[repr(frame)[:40]] = got
            assert got == expected, (frame[:60], got)
            if expected == "ignore":  # still a working socket
                await ws.send("421" + json.dumps(["message:send", {"room_id": own, "body": "ok"}]))
                reply = await asyncio.wait_for(ws.recv(), 5)
                while isinstance(reply, str) and reply.startswith('42["message:new"'):
                    reply = await asyncio.wait_for(ws.recv(), 5)  # the broadcast came first
                assert isinstance(reply, str) and reply.startswith('431[{"ok":true'), reply
        finally:
            await ws.close()
    await assert_still_serving(app, bystander)
    print(f"\n{len(FRAMES)} garbage frames: {seen}")


async def test_binary_attachments_cannot_pile_up(
    app: Served, bystander: tuple[Socket, str]
) -> None:
    """A binary packet announcing a million attachments, then 300 frames of 60 KB: dropped at
    once, so the server holds none of them (python-socketio alone kept every one: 170 MiB
    from one socket)."""
    eve = await account(app, "eve")
    ws = await raw_socket(app, eve.token)
    before = rss_mib(app)
    replies: list[str] = []
    try:
        await ws.send('451000000-["message:send",{"_placeholder":true,"num":0}]')
        for _ in range(300):
            await ws.send(bytes(60_000))
        while True:
            replies.append(str(await asyncio.wait_for(ws.recv(), 2)))
    except (TimeoutError, websockets.ConnectionClosed):
        pass
    finally:
        await ws.close()
    assert replies[:2] == ["41", "1"]
    grown = rss_mib(app) - before
    assert grown < 10, f"RSS grew {grown} MiB"
    await assert_still_serving(app, bystander)


def rss_mib(app: Served) -> int:
    with open(f"/proc/{app.server.process.pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) // 1024


async def test_an_attacker_never_receives_another_users_room(app: Served) -> None:
    ada, bob, eve = await account(app, "ada"), await account(app, "bob"), await account(app, "eve")
    rid = await room(app, ada, bob)
    ada_socket, bob_socket = await connect(app.url, ada), await connect(app.url, bob)
    eve_socket = await connect(app.url, eve)
    try:
        attempts: list[dict[str, object]] = [
            {"room_id": rid},
            {"room_id": f" {rid}"},
            {"room_id": f"{rid} "},
            {"room_id": rid.upper()},
            {"room_id": f"room:{rid}"},  # the server's internal Socket.IO room names
            {"room_id": f"user:{ada.user_id}"},
            {"room_id": f"user:{bob.user_id}"},
            {"room_id": ada.user_id},
            {"room_id": [rid]},
            {"room_id": {"$eq": rid}},
        ]
        for event in EVENTS:
            for attempt in attempts:
                payload = {"room_id": attempt["room_id"], "body": "let me in", "is_typing": True}
                assert_error_ack(await eve_socket.ask(event, payload))
        await ada_socket.ask("typing", {"room_id": rid, "is_typing": True})
        for n in range(5):
            ack = await ada_socket.ask("message:send", {"room_id": rid, "body": f"secret {n}"})
            assert ack["ok"] is True
        status, _ = await call(app.url, ada, "POST", f"/chat/rooms/{rid}/messages", {"body": "s"})
        assert status == 201
        await bob_socket.wait_for("message:new", lambda m: len(m) >= 6)
        await asyncio.sleep(0.3)
        leaked = [
            (name, data)
            for name, data in eve_socket.events
            if rid in json.dumps(data)
            or ada.user_id in json.dumps(data)
            or bob.user_id in json.dumps(data)
        ]
        assert leaked == []
        _, page = await call(app.url, ada, "GET", f"/chat/rooms/{rid}/messages")
        assert all(m["sender_id"] == ada.user_id for m in page["items"])  # nothing of eve's
    finally:
        for socket in (ada_socket, bob_socket, eve_socket):
            await socket.close()
