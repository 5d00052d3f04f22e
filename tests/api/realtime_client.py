"""Drive a served FlowHub the way a front end does: HTTP for accounts and rooms, python-socketio's
AsyncClient on the websocket transport for the realtime side, every received event kept."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import socketio

PASSWORD = "correct horse battery"
_addresses = itertools.count(1)


@dataclass
class Account:
    user_id: str
    token: str


async def sign_up(base_url: str, email: str, name: str = "Ada") -> Account:
    async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=10) as http:
        body = {"email": email, "password": PASSWORD, "name": name}
        # one client address per account: the per-IP signup limit (20 an hour) is not the subject
        ip = {"Fly-Client-IP": f"10.{next(_addresses) % 250}.{next(_addresses) % 250}.1"}
        assert (await http.post("/auth/signup", json=body, headers=ip)).status_code == 202
        code = ""
        for _ in range(200):
            mailbox = (await http.get("/dev/mailbox", params={"to": email})).json()
            if mailbox["messages"]:
                code = re.findall(r"\b\d{6}\b", mailbox["messages"][0]["text"])[0]
                break
            await asyncio.sleep(0.02)
        response = await http.post(
            "/auth/verify-email", json={"email": email, "code": code}, headers=ip
        )
        assert response.status_code == 200, response.text
        pair = response.json()
        return Account(pair["user"]["id"], pair["access_token"])


async def call(
    base_url: str, account: Account, method: str, path: str, body: object = None
) -> tuple[int, Any]:
    async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=10) as http:
        response = await http.request(
            method, path, json=body, headers={"Authorization": f"Bearer {account.token}"}
        )
        return response.status_code, response.json() if response.content else None


async def accept(base_url: str, account: Account, room_id: str) -> dict[str, Any]:
    """The invitee accepts: a member from then on."""
    status, room = await call(base_url, account, "POST", f"/chat/rooms/{room_id}/accept")
    assert status == 200, room
    joined: dict[str, Any] = room
    return joined


async def room_with(
    base_url: str, owner: Account, *others: Account, **extra: object
) -> dict[str, Any]:
    """A room of `owner` (named "General" unless `name` says) the others were invited to
    and joined."""
    body = {"name": "General", **extra, "member_ids": [o.user_id for o in others]}
    status, room = await call(base_url, owner, "POST", "/chat/rooms", body)
    assert status == 201, room
    for other in others:
        room = await accept(base_url, other, room["id"])
    made: dict[str, Any] = room
    return made


@dataclass
class Socket:
    client: socketio.AsyncClient
    events: list[tuple[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def of(self, event: str) -> list[Any]:
        return [data for name, data in self.events if name == event]

    async def wait_for(
        self, event: str, where: Callable[[list[Any]], bool] = bool, within: float = 5.0
    ) -> list[Any]:
        """The events named `event` received so far, once `where(them)` holds."""
        deadline = time.monotonic() + within
        while not where(self.of(event)):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {event}: {self.events}")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), left)
        return self.of(event)

    async def ask(self, event: str, data: object) -> Any:
        return await self.client.call(event, data, timeout=5)

    async def close(self) -> None:
        await self.client.disconnect()


async def connect(base_url: str, account: Account) -> Socket:
    client = socketio.AsyncClient(reconnection=False)
    socket = Socket(client)

    def keep(event: str) -> Callable[[Any], None]:
        def handler(data: Any = None) -> None:
            socket.events.append((event, data))
            socket.arrived.set()

        return handler

    for event in (
        "message:new",
        "message:updated",
        "message:deleted",
        "typing",
        "presence",
        "room:added",
        "room:invited",
        "room:updated",
        "room:member_added",
        "room:member_left",
        "receipt",
        "session:ended",
    ):
        client.on(event, keep(event))
    await client.connect(
        base_url, transports=["websocket"], auth={"token": account.token}, wait_timeout=5
    )
    return socket
