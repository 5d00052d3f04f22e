"""Redis only for what instances must share (issue 15), on real server processes and a real
redis-server: a lone instance spends nothing while its sockets idle, nor on typing, messages
and signed-in reads, and a second instance starting mid-conversation is heard from its first
message on."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
import redis

from tests.api.files_client import MULTIPART, file_part, multipart
from tests.api.realtime_client import Socket, call, connect
from tests.integration.test_chat_instances import SECRETS, own_redis, pair_in_a_room
from tests.support.images import png
from tests.support.processes import ServerProcess, running_server
from tests.support.services import with_database

pytestmark = pytest.mark.integration


def commands(client: redis.Redis) -> Counter[str]:
    """Calls per command as Redis counts them (a script's inner commands included), INFO
    itself left out."""
    stats: dict[str, Any] = client.info("commandstats")
    return Counter({k: int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info"})


def env(redis_url: str, mongodb_uri: str) -> dict[str, str]:
    return {
        "APP_ENV": "development",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": redis_url,
        "MONGODB_URI": mongodb_uri,
        **SECRETS,
    }


async def test_idle_sockets_on_a_lone_instance_cost_no_redis_command_over_a_minute(
    mongodb_uri: str, mongo_db_name: str
) -> None:
    with (
        own_redis() as (url, _),
        running_server(env=env(url, with_database(mongodb_uri, mongo_db_name))) as server,
    ):
        ada, bob, rid = await pair_in_a_room(server)
        sockets = [await connect(server.url, ada), await connect(server.url, bob)]
        try:
            counter = redis.Redis.from_url(url)
            await asyncio.sleep(2)  # the connects' own work lands
            before = commands(counter)
            await asyncio.sleep(60)
            idle = commands(counter) - before
            assert idle == Counter(), f"an idle minute cost {dict(idle)}"
            before = commands(counter)
            await sockets[1].ask("typing", {"room_id": rid, "is_typing": True})
            ack = await sockets[0].ask("message:send", {"room_id": rid, "body": "alone"})
            assert ack["ok"] is True
            await sockets[1].wait_for("message:new")
            await sockets[0].wait_for("typing")
            spent = commands(counter) - before
            # no PUBLISH (alone), no typing key, the chat's rate limit counted in the process
            assert spent == Counter(), f"typing and a message on a lone instance: {dict(spent)}"
            before = commands(counter)
            for path in ("/users/me", "/chat/rooms", f"/presence?user_ids={bob.user_id}"):
                status, _ = await call(server.url, ada, "GET", path)
                assert status == 200
            spent = commands(counter) - before
            # the API quota counted in the process, users read from MongoDB, presence in memory
            assert spent == Counter(), f"signed-in reads on a lone instance: {dict(spent)}"
        finally:
            for socket in sockets:
                await socket.close()


async def test_a_second_instance_starting_mid_conversation_loses_and_repeats_nothing(
    redis_url: str, mongodb_uri: str, mongo_db_name: str
) -> None:
    settings = env(redis_url, with_database(mongodb_uri, mongo_db_name))
    with running_server(env=settings) as a:
        ada, bob, rid = await pair_in_a_room(a)
        on_a = await connect(a.url, ada)
        acked_after_join: list[int] = []
        joined = asyncio.Event()
        stop = asyncio.Event()

        async def talk() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                ack = await on_a.ask("message:send", {"room_id": rid, "body": f"m{n}"})
                assert ack["ok"] is True, ack
                if joined.is_set():
                    acked_after_join.append(ack["message"]["seq"])
                await asyncio.sleep(0.3)  # under the chat rate limit (20 in 10 s)

        talking = asyncio.create_task(talk())
        on_b: Socket | None = None
        try:
            await asyncio.sleep(1.0)  # alone: nothing is published
            with running_server(env=settings) as b:  # B starts while ada talks
                on_b = await connect(b.url, bob)
                joined.set()
                await asyncio.sleep(2.0)
                stop.set()
                await talking
                last = acked_after_join[-1]
                got = await on_b.wait_for("message:new", lambda m: bool(m) and m[-1]["seq"] >= last)
                seqs = [m["seq"] for m in got]
                assert len(seqs) == len(set(seqs)), "a message arrived twice"
                assert seqs == sorted(seqs)
                assert set(acked_after_join) <= set(seqs), "a message acked after B joined was lost"
                # and what came before bob's socket is there for `after`, once
                status, page = await call(
                    b.url, bob, "GET", f"/chat/rooms/{rid}/messages?limit=100"
                )
                assert status == 200
                stored = [m["seq"] for m in page["items"]]
                assert stored == list(range(1, len(stored) + 1))
                assert set(seqs) <= set(stored)
                await on_b.close()
                on_b = None
        finally:
            stop.set()
            if not talking.done():
                talking.cancel()
            if on_b is not None:
                await on_b.close()
            await on_a.close()


async def test_with_two_instances_a_typed_message_costs_two_publishes(
    mongodb_uri: str, mongo_db_name: str
) -> None:
    with own_redis() as (url, _):
        # the default liveness interval (30 s): no `alive` falls inside what is counted
        settings = env(url, with_database(mongodb_uri, mongo_db_name))
        with running_server(env=settings) as a, running_server(env=settings) as b:
            await typed_message_on_two(url, a, b)


async def typed_message_on_two(url: str, a: ServerProcess, b: ServerProcess) -> None:
    """ada on A types and sends; bob on B sees typing true, the message, typing false."""
    ada, bob, rid = await pair_in_a_room(a)
    on_a = await connect(a.url, ada)
    on_b = await connect(b.url, bob)
    try:
        await on_a.wait_for("presence", lambda p: {"user_id": bob.user_id, "status": "online"} in p)
        counter = redis.Redis.from_url(url)
        before = commands(counter)
        await on_a.ask("typing", {"room_id": rid, "is_typing": True})
        [typing] = await on_b.wait_for("typing")
        assert typing["is_typing"] is True
        await on_a.ask("message:send", {"room_id": rid, "body": "typed"})
        await on_b.wait_for("typing", lambda t: len(t) == 2)
        await on_a.ask("typing", {"room_id": rid, "is_typing": False})  # already ended
        await asyncio.sleep(0.5)
        spent = commands(counter) - before
        # the typing state's start and the message; its end is inferred from the message
        assert spent["cmdstat_publish"] == 2, dict(spent)
        events = [(name, d.get("is_typing", d.get("body"))) for name, d in on_b.events
                  if name in ("typing", "message:new")]  # fmt: skip
        assert events == [("typing", True), ("message:new", "typed"), ("typing", False)]
    finally:
        await on_a.close()
        await on_b.close()


async def test_avatars_cost_no_redis_command_on_a_lone_instance(
    mongodb_uri: str, mongo_db_name: str
) -> None:
    """Choosing an avatar and reading it back in profiles (GET /users/me, GET /users?ids=)
    spend no Redis command: the file read is MongoDB's, the URL computed in the process."""
    with (
        own_redis() as (url, _),
        running_server(env=env(url, with_database(mongodb_uri, mongo_db_name))) as server,
    ):
        ada, bob, _ = await pair_in_a_room(server)
        form = multipart(file_part(png(400, 300), "me.png", "image/png"))
        async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=10) as http:
            uploaded = await http.post(
                "/files",
                content=form,
                headers={"Authorization": f"Bearer {ada.token}", "Content-Type": MULTIPART},
            )
        assert uploaded.status_code == 201, uploaded.text
        counter = redis.Redis.from_url(url)
        await asyncio.sleep(1)
        before = commands(counter)
        status, me = await call(
            server.url, ada, "PATCH", "/users/me", {"avatar_file_id": uploaded.json()["id"]}
        )
        assert status == 200 and me["avatar_url"], me
        for account, path in ((ada, "/users/me"), (bob, f"/users?ids={ada.user_id}")):
            status, body = await call(server.url, account, "GET", path)
            assert status == 200 and me["avatar_url"] in str(body), body
        spent = commands(counter) - before
        assert spent == Counter(), f"an avatar chosen and read: {dict(spent)}"
