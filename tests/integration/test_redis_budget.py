"""Redis only for what instances must share (issue 15), on real server processes and a real
redis-server: a lone instance spends nothing while its sockets idle, nor on typing and
messages, and a second instance starting mid-conversation is heard from its first message on."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
import redis

from tests.api.realtime_client import Socket, call, connect
from tests.integration.test_chat_instances import SECRETS, own_redis, pair_in_a_room
from tests.support.processes import running_server
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
