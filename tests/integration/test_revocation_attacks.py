"""Issue 14 item 3, performed as the attacker did against real server processes on MongoDB and
Redis: an access token and a socket kept working after logout, logout-all, a password reset
or a detected refresh-token theft, and a socket kept listening after its token expired.

Two instances share the database and Redis (one deployment), and a third starts after the
revocations (an instance woken from zero): each refuses what any of them revoked."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest
import socketio

from adapters.jwt.access_tokens import JwtAccessTokenCodec
from tests.api.realtime_client import PASSWORD, Account, Socket, connect, sign_up
from tests.support.processes import ServerProcess, running_server
from tests.support.services import with_database

pytestmark = pytest.mark.integration

SECRETS = {"JWT_SECRET": "v" * 40, "JWT_REFRESH_SECRET": "w" * 40}


@pytest.fixture(scope="module")
def deployment(
    redis_url: str, mongodb_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, ServerProcess, dict[str, str]]]:
    env = {
        "APP_ENV": "development",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": redis_url,
        "MONGODB_URI": with_database(mongodb_uri, f"revocations{time.monotonic_ns()}"),
        "CLUSTER_ALIVE_S": "2",
        **SECRETS,
    }
    logs = tmp_path_factory.mktemp("revocations")
    with ExitStack() as stack:
        a = stack.enter_context(running_server(env=env, log_dir=logs))
        b = stack.enter_context(running_server(env=env, log_dir=logs))
        yield a, b, env


def unique_email(who: str) -> str:
    return f"{who}{time.monotonic_ns()}@example.com"


async def login(server: ServerProcess, email: str, password: str = PASSWORD) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=10) as http:
        response = await http.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


async def me(server: ServerProcess, access_token: str) -> int:
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=10) as http:
        response = await http.get("/users/me", headers={"Authorization": f"Bearer {access_token}"})
    return response.status_code


async def post(
    server: ServerProcess, path: str, body: object = None, token: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=10) as http:
        return await http.post(path, json=body, headers=headers)


async def socket_of(server: ServerProcess, user_id: str, access_token: str) -> Socket:
    socket = await connect(server.url, Account(user_id, access_token))  # keeps session:ended

    def keep(event: str) -> Any:
        def handler(data: Any = None, *_: Any) -> None:
            socket.events.append((event, data))
            socket.arrived.set()

        return handler

    socket.client.on("disconnect", keep("disconnect"))
    return socket


async def ended(socket: Socket, within: float = 3.0) -> list[Any]:
    """The `session:ended` payloads the socket got, once the server has disconnected it."""
    await socket.wait_for("disconnect", within=within)
    return socket.of("session:ended")


async def refused_within(server: ServerProcess, access_token: str, seconds: float) -> float:
    """How long until the server refuses the token (401); fails after `seconds`."""
    started = time.monotonic()
    while (status := await me(server, access_token)) != 401:
        assert status == 200, status
        assert time.monotonic() - started < seconds, "the revoked token is still accepted"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_logout_kills_the_sessions_access_token_and_sockets_on_every_instance(
    deployment: tuple[ServerProcess, ServerProcess, dict[str, str]],
) -> None:
    a, b, _ = deployment
    email = unique_email("stolen")
    account = await sign_up(a.url, email)
    stolen = await login(a, email)  # the session the attacker holds a copy of
    other = await login(a, email)  # the user's other tab
    token = stolen["access_token"]
    assert await me(a, token) == 200 and await me(b, token) == 200
    on_a = await socket_of(a, account.user_id, token)
    on_b = await socket_of(b, account.user_id, token)
    other_socket = await socket_of(b, account.user_id, other["access_token"])

    out = await post(a, "/auth/logout", {"refresh_token": stolen["refresh_token"]}, token)
    assert out.status_code == 204, out.text

    assert await me(a, token) == 401  # at once where it was revoked
    await refused_within(b, token, 2.0)  # pushed to the other instance
    assert await ended(on_a) == [{"reason": "revoked"}]
    assert await ended(on_b) == [{"reason": "revoked"}]
    # the user's other session is not touched
    assert await me(b, other["access_token"]) == 200
    assert other_socket.client.connected
    ack = await other_socket.ask("room:join", {"room_id": "no-such-room"})
    assert ack["error"]["code"] == "not_found"
    await other_socket.close()


async def test_logout_all_and_a_reset_end_every_session_and_an_instance_started_later_knows(
    deployment: tuple[ServerProcess, ServerProcess, dict[str, str]],
) -> None:
    a, b, env = deployment
    email = unique_email("everywhere")
    account = await sign_up(a.url, email)
    first, second = await login(a, email), await login(b, email)
    sockets = [
        await socket_of(a, account.user_id, first["access_token"]),
        await socket_of(b, account.user_id, second["access_token"]),
    ]
    out = await post(b, "/auth/logout-all", token=second["access_token"])
    assert out.status_code == 204, out.text
    for socket in sockets:
        assert await ended(socket) == [{"reason": "revoked"}]
    for pair in (first, second):
        await refused_within(a, pair["access_token"], 2.0)
        assert await me(b, pair["access_token"]) == 401

    # a password reset (the user's answer to a stolen password) ends the sessions made since
    third = await login(a, email)
    socket = await socket_of(b, account.user_id, third["access_token"])
    await reset_password(a, email)
    assert await ended(socket) == [{"reason": "revoked"}]
    await refused_within(b, third["access_token"], 2.0)

    # an instance that starts now (woken from zero) never heard the pushes: it refuses too,
    # from its first request on
    with running_server(env=env) as late:
        for pair in (first, second, third):
            assert await me(late, pair["access_token"]) == 401
        fresh = await login(late, email, password=NEW_PASSWORD)
        assert await me(late, fresh["access_token"]) == 200


NEW_PASSWORD = "a brand new passphrase"


async def reset_password(server: ServerProcess, email: str) -> None:
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=10) as http:

        async def mailbox() -> list[dict[str, Any]]:
            box = await http.get("/dev/mailbox", params={"to": email})
            messages: list[dict[str, Any]] = box.json()["messages"]
            return messages

        before = len(await mailbox())
        body = {"email": email, "purpose": "password_reset"}
        assert (await http.post("/auth/otp/request", json=body)).status_code == 202
        for _ in range(200):
            messages = await mailbox()
            if len(messages) > before:
                break
            await asyncio.sleep(0.02)
        code = re.findall(r"\b\d{6}\b", messages[0]["text"])[0]  # newest first
        grant = await http.post("/auth/otp/verify", json={**body, "code": code})
        assert grant.status_code == 200, grant.text
        done = await http.post(
            "/auth/password/reset",
            json={"reset_token": grant.json()["reset_token"], "new_password": NEW_PASSWORD},
        )
        assert done.status_code == 204, done.text


async def test_a_detected_refresh_theft_kills_the_thiefs_access_token_and_socket(
    deployment: tuple[ServerProcess, ServerProcess, dict[str, str]],
) -> None:
    a, b, _ = deployment
    email = unique_email("thief")
    account = await sign_up(a.url, email)
    pair = await login(a, email)
    spent = {"refresh_token": pair["refresh_token"]}
    thief = (await post(a, "/auth/refresh", spent)).json()  # the thief refreshed first
    thief_socket = await socket_of(b, account.user_id, thief["access_token"])
    await asyncio.sleep(5.5)  # past the grace window: the victim's replay is a reuse
    replay = await post(a, "/auth/refresh", spent)
    assert replay.json()["error"]["code"] == "token_reused"
    await refused_within(b, thief["access_token"], 2.0)
    assert await ended(thief_socket) == [{"reason": "revoked"}]


def short_lived(access_token: str, seconds: int) -> str:
    """A token of the same session that expires in `seconds` (the server signs its tokens
    with this secret; only the lifetime differs from one it would issue)."""
    claims = jwt.decode(access_token, options={"verify_signature": False})
    codec = JwtAccessTokenCodec(SECRETS["JWT_SECRET"], ttl_s=seconds)
    return codec.issue(claims["sub"], claims["sid"], datetime.now(UTC)).token


async def test_a_socket_is_ended_when_its_token_expires_and_refuses_events_after(
    deployment: tuple[ServerProcess, ServerProcess, dict[str, str]],
) -> None:
    a, _, _ = deployment
    email = unique_email("expiring")
    account = await sign_up(a.url, email)
    pair = await login(a, email)
    socket = await socket_of(a, account.user_id, short_lived(pair["access_token"], 2))
    assert (await socket.ask("room:join", {"room_id": "none"}))["error"]["code"] == "not_found"
    assert await ended(socket, within=4.0) == [{"reason": "expired"}]


async def test_auth_renew_keeps_a_socket_past_its_first_token_for_the_same_user_only(
    deployment: tuple[ServerProcess, ServerProcess, dict[str, str]],
) -> None:
    a, _, _ = deployment
    email, other_email = unique_email("renewing"), unique_email("other")
    account = await sign_up(a.url, email)
    await sign_up(a.url, other_email)
    pair, other = await login(a, email), await login(a, other_email)
    socket = await socket_of(a, account.user_id, short_lived(pair["access_token"], 2))

    foreign = await socket.ask("auth:renew", {"token": other["access_token"]})
    assert foreign["ok"] is False and foreign["error"]["code"] == "unauthorized"
    bad = await socket.ask("auth:renew", {"token": "not-a-token"})
    assert bad["error"]["code"] == "unauthorized"
    missing = await socket.ask("auth:renew", {})
    assert missing["error"]["code"] == "validation_error"
    renewed = await socket.ask("auth:renew", {"token": pair["access_token"]})
    assert renewed == {"ok": True}

    await asyncio.sleep(3.0)  # past the first token's expiry
    assert socket.client.connected
    ack = await socket.ask("room:join", {"room_id": "none"})
    assert ack["error"]["code"] == "not_found"  # served: the renewed token holds
    assert socket.of("session:ended") == []
    await socket.close()


async def test_a_revoked_token_cannot_open_a_socket_or_renew_one(
    deployment: tuple[ServerProcess, ServerProcess, dict[str, str]],
) -> None:
    a, b, _ = deployment
    email = unique_email("reopen")
    account = await sign_up(a.url, email)
    doomed, alive = await login(a, email), await login(a, email)
    out = await post(
        a, "/auth/logout", {"refresh_token": doomed["refresh_token"]}, doomed["access_token"]
    )
    assert out.status_code == 204
    await refused_within(b, doomed["access_token"], 2.0)
    for server in (a, b):
        client = socketio.AsyncClient(reconnection=False)
        errors: list[object] = []
        client.on("connect_error", errors.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                server.url,
                transports=["websocket"],
                auth={"token": doomed["access_token"]},
                wait_timeout=5,
            )
        await client.disconnect()
        assert errors == [{"message": "unauthorized"}]
    socket = await socket_of(b, account.user_id, alive["access_token"])
    ack = await socket.ask("auth:renew", {"token": doomed["access_token"]})
    assert ack["error"]["code"] == "unauthorized"
    assert socket.client.connected  # its own token is still good
    await socket.close()


async def test_ending_a_session_from_the_list_ends_its_sockets_on_every_instance(
    deployment: tuple[ServerProcess, ServerProcess, dict[str, str]],
) -> None:
    a, b, _ = deployment
    email = unique_email("listed")
    account = await sign_up(a.url, email)
    lost_phone, laptop = await login(a, email), await login(a, email)
    phone_socket = await socket_of(b, account.user_id, lost_phone["access_token"])
    async with httpx.AsyncClient(base_url=f"{a.url}/api/v1", timeout=10) as http:
        bearer = {"Authorization": f"Bearer {laptop['access_token']}"}
        listed = (await http.get("/auth/sessions", headers=bearer)).json()["items"]
        phone = listed[1]  # newest first: the laptop (current), then the phone
        assert listed[0]["current"] and not phone["current"]
        answer = await http.delete(f"/auth/sessions/{phone['id']}", headers=bearer)
    assert answer.status_code == 204
    assert await ended(phone_socket) == [{"reason": "revoked"}]
    await refused_within(b, lost_phone["access_token"], 2.0)
    assert await me(a, laptop["access_token"]) == 200
