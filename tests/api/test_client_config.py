"""`GET /api/v1/config`: public, in the contract's shape, and what it advertises is what the
server enforces: a form that checks these numbers is refused neither more nor less."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from schemas.config import ClientConfigOut
from tests.api.auth_client import API, AuthClient, use_fast_hasher
from tests.api.conftest import AppFactory
from tests.api.files_client import FilesClient

pytestmark = pytest.mark.api

ENV = {
    "MAX_UPLOAD_BYTES": "2048",
    "ALLOWED_CONTENT_TYPES": "text/plain,image/png",
    "MULTIPART_MAX_BYTES": str(100 * 1024 * 1024),
    "MESSAGE_EDIT_WINDOW_S": "120",
    "SOCKETS_PER_USER": "7",
}


@pytest_asyncio.fixture
async def api(make_app: AppFactory) -> AsyncIterator[FilesClient]:
    app, container = make_app(ENV)
    use_fast_hasher(container)
    async with app.test_app() as test_app:
        yield FilesClient(test_app.test_client(), container)


async def config(api: AuthClient) -> dict[str, Any]:
    status, body, headers = await api.get("/config")
    assert status == 200
    assert "X-Request-ID" in headers
    ClientConfigOut.model_validate(body)
    return dict(body)


async def test_the_config_is_public_and_follows_the_settings(api: FilesClient) -> None:
    body = await config(api)
    assert body["uploads"]["max_bytes"] == 2048
    assert body["uploads"]["multipart_max_bytes"] == 100 * 1024 * 1024
    assert body["uploads"]["multipart_part_size"] == 8 * 1024 * 1024
    assert body["uploads"]["allowed_types"] == ["text/plain", "image/png"]
    assert (body["chat"]["edit_window_s"], body["chat"]["attachments_max"]) == (120, 4)
    assert body["rate_limits"]["sockets_per_user"] == 7
    assert body["rate_limits"]["socket_events_per_10s"] == 100
    assert body["features"] == {
        "direct_uploads": True,
        "storage": "memory",
        "dev_mailbox": True,
        "simulated_rooms": True,
    }


async def test_the_advertised_limits_are_the_enforced_ones(api: FilesClient) -> None:
    body = await config(api)
    pair = await api.signed_up("limits@example.com")
    assert pair["expires_in"] == body["tokens"]["access_s"]
    token = pair["access_token"]

    limit = body["uploads"]["max_bytes"]
    assert (await api.upload(token, b"a" * limit, "fits.txt", "text/plain"))[0] == 201
    assert (await api.upload(token, b"a" * (limit + 1), "over.txt", "text/plain"))[0] == 413

    shortest = body["passwords"]["min_length"]
    for password, status in (("p" * (shortest - 1), 422), ("p" * shortest, 202)):
        signup = {"email": f"pw{len(password)}@example.com", "password": password, "name": "P"}
        assert (await api.post("/auth/signup", signup))[0] == status
    longest_name = body["name_max"]
    renamed = await api.client.patch(
        f"{API}/users/me", json={"name": "n" * (longest_name + 1)},
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert renamed.status_code == 422

    status, room, _ = await api.post(
        "/chat/rooms", {"name": "r" * body["chat"]["room_name_max"]}, token
    )
    assert status == 201
    path = f"/chat/rooms/{room['id']}/messages"
    longest = body["chat"]["message_max"]
    assert (await api.post(path, {"body": "m" * longest}, token))[0] == 201
    assert (await api.post(path, {"body": "m" * (longest + 1)}, token))[0] == 422
