"""Attacks on the Socket.IO resources of one instance (issue 14 item 13) against a real server
process: one user opening sockets without bound, one address opening them for many users, and
one socket flooding events. The caps are set small through the server's environment."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import socketio

from tests.api.realtime_client import Account, Socket, connect, sign_up
from tests.integration.test_session_attacks import events_logged
from tests.support.processes import ServerProcess, running_server

pytestmark = pytest.mark.integration

PER_USER = 3
PER_IP = 5
EVENTS = 20


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        "SOCKETS_PER_USER": str(PER_USER),
        "SOCKETS_PER_IP": str(PER_IP),
        "SOCKET_EVENTS_PER_10S": str(EVENTS),
    }
    with running_server(env=env, log_dir=tmp_path_factory.mktemp("sockets")) as process:
        yield process


def unique_email(who: str) -> str:
    return f"{who}{time.monotonic_ns()}@example.com"


async def open_socket(base_url: str, account: Account, ip: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        base_url,
        transports=["websocket"],
        auth={"token": account.token},
        headers={"Fly-Client-IP": ip},
        wait_timeout=5,
    )
    return client


async def refusal(base_url: str, account: Account, ip: str) -> Any:
    """What the server answers a connect it refuses (fails the test when it accepts it)."""
    client = socketio.AsyncClient(reconnection=False)
    refused: list[Any] = []
    client.on("connect_error", refused.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            base_url,
            transports=["websocket"],
            auth={"token": account.token},
            headers={"Fly-Client-IP": ip},
            wait_timeout=5,
        )
    await client.disconnect()
    return refused[0] if refused else None


async def close_all(clients: list[socketio.AsyncClient]) -> None:
    for client in clients:
        await client.disconnect()


async def test_one_user_past_the_cap_is_refused_and_a_closed_socket_frees_a_place(
    server: ServerProcess,
) -> None:
    account = await sign_up(server.url, unique_email("greedy"))
    other = await sign_up(server.url, unique_email("bystander"))
    # each socket from its own address: the per-user cap is the subject
    held = [await open_socket(server.url, account, f"10.1.0.{n}") for n in range(PER_USER)]
    try:
        refused = await refusal(server.url, account, "10.1.0.200")
        assert refused == {"message": "too_many_sockets"}, refused
        assert {"route": "socket:connect", "user_id": account.user_id} in [
            {"route": e.get("route"), "user_id": e.get("user_id")}
            for e in events_logged(server, "rate_limited")
        ]
        # another user is not affected
        bystander = await open_socket(server.url, other, "10.1.0.201")
        await bystander.disconnect()
        # a socket closed is counted out (no leak): its place is free again
        await held.pop().disconnect()
        await asyncio.sleep(0.3)
        held.append(await open_socket(server.url, account, "10.1.0.202"))
    finally:
        await close_all(held)
    # refused connects leaked nothing either: all places are free once all are closed
    await asyncio.sleep(0.3)
    again = [await open_socket(server.url, account, f"10.1.1.{n}") for n in range(PER_USER)]
    await close_all(again)


async def test_one_address_past_the_cap_is_refused_whoever_connects(
    server: ServerProcess,
) -> None:
    accounts = [await sign_up(server.url, unique_email(f"crowd{n}")) for n in range(PER_IP + 1)]
    ip = "10.2.0.1"
    held = [await open_socket(server.url, account, ip) for account in accounts[:PER_IP]]
    try:
        refused = await refusal(server.url, accounts[PER_IP], ip)
        assert refused == {"message": "too_many_sockets"}, refused
        # the same user from another address is let in
        elsewhere = await open_socket(server.url, accounts[PER_IP], "10.2.0.2")
        await elsewhere.disconnect()
    finally:
        await close_all(held)


async def test_a_socket_flooding_events_is_disconnected_and_the_others_are_not(
    server: ServerProcess,
) -> None:
    flooder_account = await sign_up(server.url, unique_email("flooder"))
    calm_account = await sign_up(server.url, unique_email("calm"))
    flooder: Socket = await connect(server.url, flooder_account)
    calm: Socket = await connect(server.url, calm_account)
    sibling: Socket = await connect(server.url, flooder_account)  # the flooder's other tab
    try:
        gone = asyncio.Event()
        flooder.client.on("disconnect", lambda *_: gone.set())
        # within the budget: every event is answered as usual
        for _ in range(EVENTS):
            ack = await flooder.ask("room:join", {"room_id": "nope"})
            assert ack["ok"] is False and ack["error"]["code"] != "too_many_requests", ack
        # the one over it is refused, then the socket is disconnected
        ack = await flooder.ask("room:join", {"room_id": "nope"})
        assert ack == {
            "ok": False,
            "error": {
                "code": "too_many_requests",
                "message": "Too many events from this socket; it is being disconnected.",
            },
        }
        for _ in range(200):  # the rest of a flood, unanswered
            if not flooder.client.connected:
                break
            await flooder.client.emit("typing", {"room_id": "nope", "is_typing": True})
        await asyncio.wait_for(gone.wait(), 5)
        assert not flooder.client.connected
        assert [e for e in events_logged(server, "rate_limited") if e["route"] == "socket:events"]
        # the other sockets, the same user's included, are unaffected
        for socket in (calm, sibling):
            ack = await socket.ask("room:join", {"room_id": "nope"})
            assert ack["error"]["code"] == "not_found", ack
    finally:
        for socket in (flooder, calm, sibling):
            await socket.close()
