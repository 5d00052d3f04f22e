"""Drive the auth API the way a front end does, through the real HTTP app."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import quote

from quart.typing import TestClientProtocol as Client
from werkzeug.datastructures import Headers

from config.container import Container

PASSWORD = "correct horse battery"
API = "/api/v1"


class AuthClient:
    def __init__(self, client: Client, container: Container) -> None:
        self.client = client
        self.container = container

    async def post(
        self, path: str, body: Any = None, token: str | None = None, **headers: str
    ) -> tuple[int, Any, Headers]:
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = await self.client.post(f"{API}{path}", json=body, headers=headers)
        return response.status_code, await response.get_json(), response.headers

    async def send(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any, Headers]:
        """Any method (PATCH, DELETE...) with an optional JSON body."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.open(f"{API}{path}", method=method, json=body, headers=headers)
        return response.status_code, await response.get_json(), response.headers

    async def get(self, path: str, token: str | None = None) -> tuple[int, Any, Headers]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.get(f"{API}{path}", headers=headers)
        return response.status_code, await response.get_json(), response.headers

    async def mailbox(self, email: str, at_least: int = 1) -> list[dict[str, Any]]:
        """The dev mailbox; mail goes out in the background, so wait for it briefly."""
        for _ in range(200):
            status, body, _ = await self.get(f"/dev/mailbox?to={quote(email)}")
            assert status == 200
            if len(body["messages"]) >= at_least:
                return list(body["messages"])
            await asyncio.sleep(0.01)
        raise AssertionError(f"no mail for {email}")

    async def code(self, email: str, at_least: int = 1) -> str:
        messages = await self.mailbox(email, at_least)
        match = re.search(r"\b(\d{6})\b", messages[0]["text"])
        assert match
        return match.group(1)

    async def signed_up(self, email: str, name: str = "Ada") -> dict[str, Any]:
        status, _, _ = await self.post(
            "/auth/signup", {"email": email, "password": PASSWORD, "name": name}
        )
        assert status == 202
        status, pair, _ = await self.post(
            "/auth/verify-email", {"email": email, "code": await self.code(email)}
        )
        assert status == 200, pair
        return dict(pair)


def use_fast_hasher(container: Container) -> None:
    """Argon2 at production cost has its own contract tests; API tests use the fast fake."""
    from dependency_injector import providers

    from adapters.memory.hasher import MemoryPasswordHasher

    container.adapters.hasher.override(providers.Singleton(MemoryPasswordHasher))
