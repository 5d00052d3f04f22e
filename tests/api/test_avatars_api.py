"""Avatars through the HTTP app (memory adapters, real Pillow): `PATCH /users/me
{avatar_file_id}` makes the caller's ready image public and shows its stable 256 px public
thumbnail as `avatar_url` on `GET /users/me` and `GET /users?ids=`; the avatar disappears
(never a broken URL) once the file is deleted or made private; someone else's file can never
become an avatar, nor be made public through one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.api.auth_client import PASSWORD, use_fast_hasher
from tests.api.conftest import AppFactory
from tests.api.files_client import PDF, FilesClient
from tests.support.images import png

pytestmark = pytest.mark.api


@pytest_asyncio.fixture
async def api(make_app: AppFactory) -> AsyncIterator[FilesClient]:
    app, container = make_app({})
    use_fast_hasher(container)
    async with app.test_app() as test_app:
        yield FilesClient(test_app.test_client(), container)


async def person(api: FilesClient, name: str) -> tuple[str, str]:
    pair = await api.signed_up(f"{name}@example.com", name.title())
    return pair["user"]["id"], pair["access_token"]


async def image(api: FilesClient, token: str, width: int = 600, height: int = 400) -> str:
    status, meta = await api.upload(token, png(width, height), "me.png", "image/png")
    assert status == 201, meta
    return str(meta["id"])


async def choose(api: FilesClient, token: str, file_id: str | None) -> tuple[int, Any]:
    status, body, _ = await api.send("PATCH", "/users/me", {"avatar_file_id": file_id}, token)
    return status, body


async def me(api: FilesClient, token: str) -> dict[str, Any]:
    status, body, _ = await api.get("/users/me", token)
    assert status == 200
    return dict(body)


async def test_an_avatar_is_the_public_256_thumbnail_everywhere_the_user_shows(
    api: FilesClient,
) -> None:
    ada, token = await person(api, "ada")
    bob, bob_token = await person(api, "bob")
    status, _, _ = await api.post("/chat/rooms", {"name": "General", "member_ids": [bob]}, token)
    assert status == 201
    file_id = await image(api, token)
    assert "avatar_url" not in await me(api, token)  # none yet (and the profile is cached now)

    status, body = await choose(api, token, file_id)

    assert status == 200, body
    url = body["avatar_url"]
    assert url.startswith("http://") and "?" not in url  # absolute, no token, no signature
    assert url.endswith(f"/{file_id}-256.webp")
    status, data, headers = await api.fetch(url)
    assert (status, headers["Content-Type"]) == (200, "image/webp")
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert data
    _, meta, _ = await api.call("GET", f"/files/{file_id}", token)
    assert meta["public"] is True  # choosing it made it public
    assert (await me(api, token))["avatar_url"] == url  # not the cached profile of before
    status, users, _ = await api.get(f"/users?ids={ada},{bob}", bob_token)
    assert status == 200
    assert users["items"] == [
        {"id": ada, "name": "Ada", "avatar_url": url},
        {"id": bob, "name": "Bob"},  # no avatar: the field is absent, never null
    ]


async def test_an_image_without_a_256_thumbnail_is_its_own_avatar(api: FilesClient) -> None:
    _, token = await person(api, "ada")
    file_id = await image(api, token, 120, 90)  # no larger than 256: no 256 thumbnail

    status, body = await choose(api, token, file_id)

    assert status == 200, body
    _, meta, _ = await api.call("GET", f"/files/{file_id}", token)
    assert body["avatar_url"] == meta["public_url"]
    assert (await api.fetch(body["avatar_url"]))[0] == 200


async def test_a_deleted_or_private_avatar_file_leaves_no_avatar(api: FilesClient) -> None:
    ada, token = await person(api, "ada")
    first, second = await image(api, token), await image(api, token)

    _, body = await choose(api, token, first)
    await me(api, token)  # cached
    status, _, _ = await api.send("PATCH", f"/files/{first}", {"public": False}, token)
    assert status == 200
    assert "avatar_url" not in await me(api, token)
    assert (await api.fetch(body["avatar_url"]))[0] in {403, 404}  # the old URL is gone too
    # public again (a new URL, perhaps for a page): not the avatar until it is chosen again
    assert (await api.send("PATCH", f"/files/{first}", {"public": True}, token))[0] == 200
    assert "avatar_url" not in await me(api, token)

    status, body = await choose(api, token, second)
    assert status == 200 and body["avatar_url"]
    assert (await api.call("DELETE", f"/files/{second}", token))[0] == 204
    assert "avatar_url" not in await me(api, token)
    status, users, _ = await api.get(f"/users?ids={ada}", token)
    assert users["items"] == [{"id": ada, "name": "Ada"}]


async def test_null_clears_the_avatar_and_a_rename_keeps_it(api: FilesClient) -> None:
    _, token = await person(api, "ada")
    file_id = await image(api, token)
    _, chosen = await choose(api, token, file_id)

    status, renamed, _ = await api.send("PATCH", "/users/me", {"name": "Ada L."}, token)
    assert status == 200
    assert (renamed["name"], renamed["avatar_url"]) == ("Ada L.", chosen["avatar_url"])
    status, same, _ = await api.send("PATCH", "/users/me", {}, token)
    assert (status, same) == (200, renamed)

    status, cleared = await choose(api, token, None)

    assert status == 200
    assert "avatar_url" not in cleared
    assert "avatar_url" not in await me(api, token)
    assert cleared["name"] == "Ada L."
    _, meta, _ = await api.call("GET", f"/files/{file_id}", token)
    assert meta["public"] is True  # the file stays as it is (private it with PATCH /files)


async def test_what_cannot_be_an_avatar_is_refused_and_changes_nothing(
    api: FilesClient,
) -> None:
    _, token = await person(api, "ada")
    good = await image(api, token)
    _, before = await choose(api, token, good)
    status, pdf = await api.upload(token, PDF, "cv.pdf", "application/pdf")
    assert status == 201
    status, pending, _ = await api.post(
        "/files/uploads", {"name": "big.png", "size": 1000, "content_type": "image/png"}, token
    )
    assert status == 201, pending

    cases = {
        "f" * 32: (404, "not_found"),
        pdf["id"]: (409, "not_an_image"),
        pending["file"]["id"]: (409, "upload_incomplete"),
    }
    for file_id, expected in cases.items():
        status, body = await choose(api, token, file_id)
        assert (status, body["error"]["code"]) == expected, file_id
        assert set(body["error"]) >= {"code", "message"}
    for bad in ("", "x" * 201, 42):
        status, body = await choose(api, token, bad)  # type: ignore[arg-type]
        assert (status, body["error"]["code"]) == (422, "validation_error"), bad

    status, body, _ = await api.send("PATCH", "/users/me", {"name": None}, token)
    assert (status, body["error"]["code"]) == (422, "validation_error")  # omit it to keep it

    assert await me(api, token) == before


async def test_someone_elses_file_cannot_become_an_avatar_nor_public(api: FilesClient) -> None:
    """The attack: Eve names Bob's private image as her avatar, to show it (or to make it
    public and learn its URL). It is a 404 like a file that does not exist, and Bob's file
    stays private."""
    _, bob_token = await person(api, "bob")
    _, eve_token = await person(api, "eve")
    bobs = await image(api, bob_token)

    status, body = await choose(api, eve_token, bobs)

    assert (status, body["error"]["code"]) == (404, "not_found")
    unknown_status, unknown = await choose(api, eve_token, "f" * len(bobs))
    assert (unknown_status, unknown["error"]["code"]) == (404, "not_found")  # indistinguishable
    assert "avatar_url" not in await me(api, eve_token)
    _, meta, _ = await api.call("GET", f"/files/{bobs}", bob_token)
    assert meta["public"] is False
    assert "public_url" not in meta


async def test_a_token_pair_carries_the_users_avatar(api: FilesClient) -> None:
    pair = await api.signed_up("ada@example.com", "Ada")
    assert "avatar_url" not in pair["user"]
    token = pair["access_token"]
    _, chosen = await choose(api, token, await image(api, token))

    status, login, _ = await api.post(
        "/auth/login", {"email": "ada@example.com", "password": PASSWORD}
    )
    assert status == 200
    assert login["user"]["avatar_url"] == chosen["avatar_url"]
    status, refreshed, _ = await api.post("/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert status == 200
    assert refreshed["user"]["avatar_url"] == chosen["avatar_url"]
