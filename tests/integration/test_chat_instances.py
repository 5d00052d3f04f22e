"""Several server instances behave as one: two real server processes sharing MongoDB and Redis
(Socket.IO's Redis manager), a client on A receiving what is emitted on B, and fan-out that
recovers after Redis restarts (python-socketio #1411, #1581)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import pytest
import redis

from tests.api.realtime_client import Account, Socket, accept, call, connect, room_with, sign_up
from tests.support.processes import ServerProcess, free_port, running_server
from tests.support.services import with_database

pytestmark = pytest.mark.integration

SECRETS = {"JWT_SECRET": "j" * 40, "JWT_REFRESH_SECRET": "r" * 40}


@contextmanager
def two_servers(redis_url: str, mongodb_uri: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = {
        "APP_ENV": "development",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": redis_url,
        "MONGODB_URI": mongodb_uri,
        # a dead peer is noticed after 2.5 of these (30 s in production: within 90 s)
        "CLUSTER_ALIVE_S": "2",
        **SECRETS,
    }
    with ExitStack() as stack:
        a = stack.enter_context(running_server(env=env))
        b = stack.enter_context(running_server(env=env))
        yield a, b


async def pair_in_a_room(a: ServerProcess) -> tuple[Account, Account, str]:
    stamp = time.monotonic_ns()
    ada = await sign_up(a.url, f"ada{stamp}@example.com")
    bob = await sign_up(a.url, f"bob{stamp}@example.com", "Bob")
    room = await room_with(a.url, ada, bob, name="Across")
    return ada, bob, str(room["id"])


async def test_a_client_on_one_instance_receives_what_another_emits(
    redis_url: str, mongodb_uri: str, mongo_db_name: str
) -> None:
    with two_servers(redis_url, with_database(mongodb_uri, mongo_db_name)) as (a, b):
        ada, bob, rid = await pair_in_a_room(a)
        on_a: Socket = await connect(a.url, ada)
        on_b: Socket = await connect(b.url, bob)
        try:
            ack = await on_b.ask("message:send", {"room_id": rid, "body": "from B"})
            assert ack["ok"] is True
            await call(b.url, bob, "POST", f"/chat/rooms/{rid}/messages", {"body": "over HTTP"})
            await on_b.ask("typing", {"room_id": rid, "is_typing": True})
            got = await on_a.wait_for("message:new", lambda m: len(m) >= 2)
            assert [(m["seq"], m["body"]) for m in got] == [(1, "from B"), (2, "over HTTP")]
            [typing] = await on_a.wait_for("typing")
            assert typing == {"room_id": rid, "user_id": bob.user_id, "is_typing": True}
            presence = await on_a.wait_for("presence")
            assert {"user_id": bob.user_id, "status": "online"} in presence
            status, body = await call(a.url, ada, "GET", f"/presence?user_ids={bob.user_id}")
            assert (status, body) == (200, {bob.user_id: "online"})
        finally:
            await on_a.close()
            await on_b.close()


async def test_a_member_added_on_one_instance_joins_on_the_other(
    redis_url: str, mongodb_uri: str, mongo_db_name: str
) -> None:
    with two_servers(redis_url, with_database(mongodb_uri, mongo_db_name)) as (a, b):
        stamp = time.monotonic_ns()
        ada = await sign_up(a.url, f"ada{stamp}@example.com")
        bob = await sign_up(a.url, f"bob{stamp}@example.com", "Bob")
        status, room = await call(a.url, ada, "POST", "/chat/rooms", {"name": "Later"})
        assert status == 201
        on_b = await connect(b.url, bob)
        try:
            status, _ = await call(
                a.url, ada, "POST", f"/chat/rooms/{room['id']}/members", {"user_id": bob.user_id}
            )
            assert status == 200
            [invited] = await on_b.wait_for("room:invited")  # emitted on A, heard on B
            assert invited["id"] == room["id"]
            on_a = await connect(a.url, ada)
            try:
                await accept(b.url, bob, room["id"])  # accepted on B, heard by the inviter on A
                [joined] = await on_a.wait_for("room:member_added")
                assert joined == {"room_id": room["id"], "user_id": bob.user_id}
            finally:
                await on_a.close()
            [added] = await on_b.wait_for("room:added")
            assert added["id"] == room["id"]
            body = {"body": "welcome"}
            await call(a.url, ada, "POST", f"/chat/rooms/{room['id']}/messages", body)
            [message] = await on_b.wait_for("message:new")
            assert message["body"] == "welcome"
        finally:
            await on_b.close()


async def test_an_edit_and_a_delete_reach_sockets_on_both_instances(
    redis_url: str, mongodb_uri: str, mongo_db_name: str
) -> None:
    with two_servers(redis_url, with_database(mongodb_uri, mongo_db_name)) as (a, b):
        ada, bob, rid = await pair_in_a_room(a)
        on_a: Socket = await connect(a.url, ada)
        on_b: Socket = await connect(b.url, bob)
        try:
            ack = await on_b.ask("message:send", {"room_id": rid, "body": "helo"})
            mid = ack["message"]["id"]
            edit = {"room_id": rid, "message_id": mid, "body": "hello", "client_id": "e1"}
            edited = await on_b.ask("message:edit", edit)
            assert edited["ok"] is True and edited["message"]["body"] == "hello"
            assert await on_b.ask("message:edit", edit) == edited  # retried: nothing more
            for socket in (on_a, on_b):
                [update] = await socket.wait_for("message:updated")
                assert update == edited["message"]
            refused = await on_a.ask("message:delete", {"room_id": rid, "message_id": mid})
            assert refused == {
                "ok": False,
                "error": {
                    "code": "forbidden",
                    "message": "Only its sender can edit or delete a message.",
                },
            }
            status, tombstone = await call(
                b.url, bob, "DELETE", f"/chat/rooms/{rid}/messages/{mid}"
            )
            assert status == 200 and tombstone["deleted"] is True
            for socket in (on_a, on_b):
                [gone] = await socket.wait_for("message:deleted")
                assert gone == tombstone
            status, page = await call(a.url, ada, "GET", f"/chat/rooms/{rid}/messages?after=0")
            assert [(m["seq"], m["body"], m.get("deleted")) for m in page["items"]] == [
                (1, "", True)
            ]
        finally:
            await on_a.close()
            await on_b.close()


async def test_unread_counts_are_right_after_a_reconnect_with_catch_up_and_receipts_cross(
    redis_url: str, mongodb_uri: str, mongo_db_name: str
) -> None:
    with two_servers(redis_url, with_database(mongodb_uri, mongo_db_name)) as (a, b):
        ada, bob, rid = await pair_in_a_room(a)
        on_a: Socket = await connect(a.url, ada)
        on_b: Socket = await connect(b.url, bob)
        try:
            await on_a.ask("message:send", {"room_id": rid, "body": "one"})
            await on_b.wait_for("message:new")
            read = await on_b.ask("room:read", {"room_id": rid, "seq": 1})
            assert read["read"] == {"room_id": rid, "last_read_seq": 1, "unread_count": 0}
            [receipt] = await on_a.wait_for("receipt")  # read on B, seen by the sender on A
            assert receipt == {"room_id": rid, "user_id": bob.user_id, "seq": 1}
            await on_b.close()  # Bob's connection drops; Ada goes on writing on A
            for body in ("two", "three", "four"):
                await on_a.ask("message:send", {"room_id": rid, "body": body})
            on_b = await connect(b.url, bob)  # back, on B
            status, rooms = await call(b.url, bob, "GET", "/chat/rooms")
            assert status == 200
            [room] = rooms["items"]
            assert (room["last_read_seq"], room["unread_count"], room["last_seq"]) == (1, 3, 4)
            # catch-up from the mark: exactly the three unread
            status, page = await call(b.url, bob, "GET", f"/chat/rooms/{rid}/messages?after=1")
            assert [m["body"] for m in page["items"]] == ["two", "three", "four"]
            status, done = await call(b.url, bob, "POST", f"/chat/rooms/{rid}/read", {"seq": 4})
            assert (status, done["unread_count"]) == (200, 0)
            await on_a.wait_for("receipt", lambda r: r[-1]["seq"] == 4)
            # sending marks it read for the sender, coalesced: written within 2 s
            deadline = time.monotonic() + 5
            while True:
                status, receipts = await call(a.url, ada, "GET", f"/chat/rooms/{rid}/receipts")
                seen = {r["user_id"]: r["seq"] for r in receipts["items"]}
                if seen.get(ada.user_id) == 4 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            assert (seen[bob.user_id], seen.get(ada.user_id)) == (4, 4)
            status, rooms = await call(a.url, bob, "GET", "/chat/rooms")  # the same on A
            assert rooms["items"][0]["unread_count"] == 0
        finally:
            await on_a.close()
            await on_b.close()


@contextmanager
def own_redis() -> Iterator[tuple[str, Callable[[], None]]]:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed for the restart test (make services installs it)"
    port = free_port()
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        processes.append(process)
        client = redis.Redis(port=port, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.02)
        raise TimeoutError("redis-server did not start")

    def restart() -> None:
        processes[-1].kill()
        processes[-1].wait()
        time.sleep(0.5)
        start()

    start()
    try:
        yield f"redis://127.0.0.1:{port}/0", restart
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


async def test_fan_out_recovers_after_redis_restarts(mongodb_uri: str, mongo_db_name: str) -> None:
    with (
        own_redis() as (url, restart),
        two_servers(url, with_database(mongodb_uri, mongo_db_name)) as (a, b),
    ):
        ada, bob, rid = await pair_in_a_room(a)
        on_a = await connect(a.url, ada)
        on_b = await connect(b.url, bob)
        try:
            await on_b.ask("message:send", {"room_id": rid, "body": "before"})
            await on_a.wait_for("message:new")
            restart()
            restarted = time.monotonic()
            delivered_at = None
            n = 0
            while time.monotonic() - restarted < 60:
                n += 1
                await on_b.ask("message:send", {"room_id": rid, "body": f"after {n}"})
                try:
                    await on_a.wait_for(
                        "message:new",
                        lambda m: any(x["body"].startswith("after") for x in m),
                        within=1.0,
                    )
                except AssertionError:
                    continue
                delivered_at = time.monotonic() - restarted
                break
            assert delivered_at is not None, "fan-out did not recover within 60 s"
            print(f"fan-out recovered {delivered_at:.1f} s after the Redis restart")
        finally:
            await on_a.close()
            await on_b.close()


async def test_users_of_an_instance_that_dies_go_offline_within_10_s(
    redis_url: str, mongodb_uri: str, mongo_db_name: str
) -> None:
    with two_servers(redis_url, with_database(mongodb_uri, mongo_db_name)) as (a, b):
        ada, bob, _ = await pair_in_a_room(a)
        on_a = await connect(a.url, ada)
        on_b = await connect(b.url, bob)
        try:
            await on_a.wait_for(
                "presence", lambda p: {"user_id": bob.user_id, "status": "online"} in p
            )
            b.process.kill()  # no disconnect, no goodbye: its renewals just stop
            b.process.wait()
            died = time.monotonic()
            offline = {"user_id": bob.user_id, "status": "offline"}
            await on_a.wait_for("presence", lambda p: offline in p, within=12)
            told_after = time.monotonic() - died
            while True:  # and GET /presence reads it as soon as its key expires
                _, body = await call(a.url, ada, "GET", f"/presence?user_ids={bob.user_id}")
                read_after = time.monotonic() - died
                if body == {bob.user_id: "offline"} or read_after > 12:
                    break
                await asyncio.sleep(0.2)
            print(f"offline told {told_after:.1f} s, read {read_after:.1f} s after the death")
            assert told_after < 10
            assert body == {bob.user_id: "offline"}
            assert read_after < 10
        finally:
            await on_a.close()
            await on_b.client.eio.disconnect(abort=True)
