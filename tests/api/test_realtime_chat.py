"""Realtime chat against a real server process (development shape) with python-socketio's
AsyncClient on the websocket transport: acks, ordered delivery, catch-up, typing, presence,
membership, the simulated peer."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import httpx
import pytest
import socketio

from tests.api.realtime_client import Account, accept, call, connect, room_with, sign_up
from tests.support.processes import ServerProcess, running_server

pytestmark = pytest.mark.api

_emails = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server(env={"APP_ENV": "development"}) as served:
        yield served


async def account(server: ServerProcess, name: str) -> Account:
    return await sign_up(server.url, f"{name}{next(_emails)}@example.com", name.title())


async def room_of(server: ServerProcess, owner: Account, *others: Account, **extra: object) -> str:
    return str((await room_with(server.url, owner, *others, **extra))["id"])


async def test_a_bad_or_missing_token_is_refused(server: ServerProcess) -> None:
    for auth in (None, {"token": "not-a-token"}):
        client = socketio.AsyncClient(reconnection=False)
        errors: list[object] = []
        client.on("connect_error", errors.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(server.url, transports=["websocket"], auth=auth, wait_timeout=5)
        await client.disconnect()
        assert errors == [{"message": "unauthorized"}]


async def test_two_users_exchange_messages_with_acks(server: ServerProcess) -> None:
    ada, bob = await account(server, "ada"), await account(server, "bob")
    rid = await room_of(server, ada, bob)
    ada_socket, bob_socket = await connect(server.url, ada), await connect(server.url, bob)
    try:
        ack = await ada_socket.ask("message:send", {"room_id": rid, "body": "hi", "client_id": "1"})
        assert ack["ok"] is True
        assert ack["message"]["seq"] == 1
        assert ack["message"]["client_id"] == "1"
        again = await ada_socket.ask(
            "message:send", {"room_id": rid, "body": "hi", "client_id": "1"}
        )
        assert again == ack
        reply = await bob_socket.ask("message:send", {"room_id": rid, "body": "hello"})
        assert reply["message"]["seq"] == 2
        # over HTTP too: delivered exactly like a socket's message
        status, _ = await call(
            server.url, bob, "POST", f"/chat/rooms/{rid}/messages", {"body": "3"}
        )
        assert status == 201
        for socket in (ada_socket, bob_socket):
            got = await socket.wait_for("message:new", lambda m: len(m) >= 3)
            assert [m["seq"] for m in got] == [1, 2, 3]
            assert [m["body"] for m in got] == ["hi", "hello", "3"]
        bad = await ada_socket.ask("message:send", {"room_id": rid, "body": ""})
        assert bad["ok"] is False and bad["error"]["code"] == "validation_error"
    finally:
        await ada_socket.close()
        await bob_socket.close()


async def test_a_message_sent_over_a_socket_carries_its_attachments(
    server: ServerProcess,
) -> None:
    ada, bob = await account(server, "ada"), await account(server, "bob")
    rid = await room_of(server, ada, bob)
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=10) as http:
        uploaded = await http.post(
            "/files",
            files={"file": ("notes.txt", b"hello there", "text/plain")},
            headers={"Authorization": f"Bearer {ada.token}"},
        )
    assert uploaded.status_code == 201, uploaded.text
    file_id = uploaded.json()["id"]
    ada_socket, bob_socket = await connect(server.url, ada), await connect(server.url, bob)
    try:
        ack = await ada_socket.ask(
            "message:send", {"room_id": rid, "body": "see", "attachment_ids": [file_id]}
        )
        assert ack["ok"] is True, ack
        expected = [
            {"id": file_id, "name": "notes.txt", "content_type": "text/plain", "size": 11,
             "deleted": False}
        ]  # fmt: skip
        assert ack["message"]["attachments"] == expected
        [new] = await bob_socket.wait_for("message:new", lambda m: len(m) >= 1)
        assert new["attachments"] == expected
        refused = await bob_socket.ask(
            "message:send", {"room_id": rid, "body": "mine?", "attachment_ids": [file_id]}
        )
        assert refused["ok"] is False and refused["error"]["code"] == "not_found"
        five = {"room_id": rid, "body": "x", "attachment_ids": [file_id] * 5}
        over = await ada_socket.ask("message:send", five)
        assert over["ok"] is False and over["error"]["code"] == "validation_error"
        status, meta = await call(
            server.url, bob, "GET", f"/chat/rooms/{rid}/attachments/{file_id}"
        )
        assert status == 200 and meta["download_url"]
    finally:
        await ada_socket.close()
        await bob_socket.close()


async def test_ten_concurrent_senders_leave_no_gap_and_no_duplicate(server: ServerProcess) -> None:
    owner = await account(server, "owner")
    senders = [await account(server, f"s{i}") for i in range(10)]
    rid = await room_of(server, owner, *senders)
    listener = await connect(server.url, owner)
    sockets = [await connect(server.url, s) for s in senders]
    try:
        acks = await asyncio.gather(
            *(
                socket.ask("message:send", {"room_id": rid, "body": f"{n}-{k}"})
                for n, socket in enumerate(sockets)
                for k in range(5)
            )
        )
        assert all(a["ok"] for a in acks)
        assert sorted(a["message"]["seq"] for a in acks) == list(range(1, 51))
        got = await listener.wait_for("message:new", lambda m: len(m) >= 50)
        assert [m["seq"] for m in got] == list(range(1, 51))  # delivered in seq order
    finally:
        for socket in (listener, *sockets):
            await socket.close()


async def test_a_reconnecting_client_catches_up_with_after(server: ServerProcess) -> None:
    ada, bob = await account(server, "ada"), await account(server, "bob")
    rid = await room_of(server, ada, bob)
    bob_socket = await connect(server.url, bob)
    ada_socket = await connect(server.url, ada)
    await ada_socket.ask("message:send", {"room_id": rid, "body": "one"})
    seen = await bob_socket.wait_for("message:new")
    await bob_socket.close()
    for body in ("two", "three"):
        await ada_socket.ask("message:send", {"room_id": rid, "body": body})
    await ada_socket.close()
    last = seen[-1]["seq"]
    status, page = await call(server.url, bob, "GET", f"/chat/rooms/{rid}/messages?after={last}")
    assert status == 200
    assert [(m["seq"], m["body"]) for m in page["items"]] == [(2, "two"), (3, "three")]


async def test_typing_starts_is_renewed_and_ends_by_itself(server: ServerProcess) -> None:
    ada, bob = await account(server, "ada"), await account(server, "bob")
    rid = await room_of(server, ada, bob)
    ada_socket, bob_socket = await connect(server.url, ada), await connect(server.url, bob)
    try:
        loop = asyncio.get_running_loop()
        assert await ada_socket.ask("typing", {"room_id": rid, "is_typing": True}) == {"ok": True}
        started = loop.time()
        await bob_socket.wait_for("typing")
        await ada_socket.ask("typing", {"room_id": rid, "is_typing": True})  # absorbed
        await asyncio.sleep(1.2)
        await ada_socket.ask("typing", {"room_id": rid, "is_typing": True})  # renews
        renewed = loop.time()
        got = await bob_socket.wait_for("typing", lambda t: len(t) >= 2, within=6)
        ended = loop.time()
        assert [t["is_typing"] for t in got] == [True, False]
        assert got[0] == {"room_id": rid, "user_id": ada.user_id, "is_typing": True}
        assert ended - renewed >= 2.9  # the renewal kept it alive...
        assert ended - renewed < 4.0  # ...and it ended ~3 s after it
        assert ended - started > 4.0
        assert ada_socket.of("typing") == []  # to the others only
    finally:
        await ada_socket.close()
        await bob_socket.close()


async def test_presence_goes_online_and_offline(server: ServerProcess) -> None:
    ada, bob = await account(server, "ada"), await account(server, "bob")
    rid = await room_of(server, ada, bob)
    ada_socket = await connect(server.url, ada)
    try:
        bob_socket = await connect(server.url, bob)
        got = await ada_socket.wait_for("presence")
        assert got == [{"user_id": bob.user_id, "status": "online"}]
        status, body = await call(server.url, ada, "GET", f"/presence?user_ids={bob.user_id}")
        assert (status, body) == (200, {bob.user_id: "online"})
        await bob_socket.close()
        got = await ada_socket.wait_for("presence", lambda p: len(p) >= 2)
        assert got[1] == {"user_id": bob.user_id, "status": "offline"}
        _, body = await call(server.url, ada, "GET", f"/presence?user_ids={bob.user_id}")
        assert body == {bob.user_id: "offline"}
        assert rid
    finally:
        await ada_socket.close()


async def test_a_non_member_can_neither_join_nor_send(server: ServerProcess) -> None:
    ada, eve = await account(server, "ada"), await account(server, "eve")
    rid = await room_of(server, ada)
    eve_socket = await connect(server.url, eve)
    ada_socket = await connect(server.url, ada)
    try:
        for event, data in (
            ("room:join", {"room_id": rid}),
            ("message:send", {"room_id": rid, "body": "let me in"}),
            ("typing", {"room_id": rid, "is_typing": True}),
        ):
            ack = await eve_socket.ask(event, data)
            assert ack["ok"] is False and ack["error"]["code"] == "not_found"
        assert (await ada_socket.ask("room:join", {"room_id": rid})) == {"ok": True}
        await ada_socket.ask("message:send", {"room_id": rid, "body": "private"})
        await ada_socket.wait_for("message:new")
        await asyncio.sleep(0.1)
        assert eve_socket.of("message:new") == []
    finally:
        await eve_socket.close()
        await ada_socket.close()


async def test_an_invited_user_hears_nothing_until_they_accept_then_everything(
    server: ServerProcess,
) -> None:
    ada, bob = await account(server, "ada"), await account(server, "bob")
    rid = await room_of(server, ada)
    ada_socket, bob_socket = await connect(server.url, ada), await connect(server.url, bob)
    try:
        status, _ = await call(
            server.url, ada, "POST", f"/chat/rooms/{rid}/members", {"user_id": bob.user_id}
        )
        assert status == 200
        [invited] = await bob_socket.wait_for("room:invited")
        assert (invited["id"], invited["invited_ids"]) == (rid, [bob.user_id])
        await call(server.url, ada, "POST", f"/chat/rooms/{rid}/messages", {"body": "private"})
        await ada_socket.wait_for("message:new")
        # invited is not in: no message, no presence, no typing of the room
        status, _ = await call(server.url, bob, "GET", f"/chat/rooms/{rid}/messages")
        assert status == 404
        joined = await bob_socket.ask("room:join", {"room_id": rid})
        assert joined["error"]["code"] == "not_found"

        await accept(server.url, bob, rid)
        [added] = await bob_socket.wait_for("room:added")
        assert added["id"] == rid
        assert added["member_ids"] == [ada.user_id, bob.user_id]
        [member] = await ada_socket.wait_for("room:member_added")
        assert member == {"room_id": rid, "user_id": bob.user_id}
        await call(server.url, ada, "POST", f"/chat/rooms/{rid}/messages", {"body": "welcome"})
        [message] = await bob_socket.wait_for("message:new")
        assert message["body"] == "welcome"
        assert [m["body"] for m in bob_socket.of("message:new")] == ["welcome"]

        # Bob leaves: both hear it, and Bob's socket is out of the room
        status, _ = await call(server.url, bob, "POST", f"/chat/rooms/{rid}/leave")
        assert status == 204
        left = {"room_id": rid, "user_id": bob.user_id}
        assert await bob_socket.wait_for("room:member_left") == [left]
        assert await ada_socket.wait_for("room:member_left") == [left]
        await call(server.url, ada, "POST", f"/chat/rooms/{rid}/messages", {"body": "gone?"})
        await ada_socket.wait_for("message:new", lambda ms: len(ms) == 3)
        await asyncio.sleep(0.2)
        assert [m["body"] for m in bob_socket.of("message:new")] == ["welcome"]
    finally:
        await bob_socket.close()
        await ada_socket.close()


async def test_the_simulated_peer_types_replies_and_stops_typing(server: ServerProcess) -> None:
    ada = await account(server, "ada")
    rid = await room_of(server, ada, simulated=True)
    socket = await connect(server.url, ada)
    try:
        loop = asyncio.get_running_loop()
        sent_at = loop.time()
        await socket.ask("message:send", {"room_id": rid, "body": "What about sailing boats?"})
        got = await socket.wait_for("message:new", lambda m: len(m) >= 2, within=5)
        assert loop.time() - sent_at < 3
        human, reply = got
        assert (human["seq"], reply["seq"]) == (1, 2)
        assert reply["sender_id"] != ada.user_id
        assert reply["body"] != human["body"]
        typing = await socket.wait_for("typing", lambda t: len(t) >= 2)
        assert [(t["user_id"], t["is_typing"]) for t in typing] == [
            (reply["sender_id"], True),
            (reply["sender_id"], False),
        ]
        _, page = await call(server.url, ada, "GET", f"/chat/rooms/{rid}/messages")
        assert [m["seq"] for m in page["items"]] == [1, 2]
        _, presence = await call(server.url, ada, "GET", f"/presence?user_ids={reply['sender_id']}")
        assert presence == {reply["sender_id"]: "online"}
    finally:
        await socket.close()
