"""Every row of API.md's "Files" table through the HTTP app, failures included, on the
development shape (memory adapters, whose presigned URLs the app serves itself)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from dependency_injector import providers

from adapters.memory.blobs import MemoryBlobStorage
from adapters.memory.clock import MemoryClock
from adapters.memory.files import MemoryFileRepository
from domain.files.names import content_disposition
from tests.api.auth_client import API, use_fast_hasher
from tests.api.conftest import AppFactory
from tests.api.files_client import (
    EXE,
    PDF,
    PNG,
    TEXT,
    FilesClient,
    field_part,
    file_part,
    multipart,
    path_of,
)

pytestmark = pytest.mark.api

ADA, BOB = "ada@example.com", "bob@example.com"


async def client_for(make_app: AppFactory, env: dict[str, str]) -> AsyncIterator[FilesClient]:
    app, container = make_app(env)
    use_fast_hasher(container)
    async with app.test_app() as test_app:
        yield FilesClient(test_app.test_client(), container)


@pytest_asyncio.fixture
async def api(make_app: AppFactory) -> AsyncIterator[FilesClient]:
    async for client in client_for(make_app, {}):
        yield client


def stored_objects(api: FilesClient) -> dict[str, Any]:
    blobs = api.container.adapters.blobs()
    assert isinstance(blobs, MemoryBlobStorage)
    return dict(blobs._objects)


def error_code(body: Any) -> str:
    assert set(body) == {"error"}
    code: str = body["error"]["code"]
    return code


def assert_file_meta(body: Any, status: str) -> None:
    assert set(body) <= {"id", "name", "size", "content_type", "status", "created_at",
                         "download_url", "public"}  # fmt: skip
    assert body["public"] is False
    assert body["status"] == status
    assert body["created_at"].endswith("Z")


# the round trip ------------------------------------------------------------------------------


async def test_upload_list_get_download_delete_round_trip_byte_for_byte(api: FilesClient) -> None:
    token = await api.token(ADA)

    status, meta = await api.upload(token, PNG, "holiday.png", "image/png")
    assert status == 201, meta
    assert_file_meta(meta, "ready")
    assert (meta["name"], meta["size"], meta["content_type"]) == (
        "holiday.png", len(PNG), "image/png"
    )  # fmt: skip
    assert len(PNG) > 64 * 1024, "bigger than the JSON limit: the upload route has its own"

    status, page, _ = await api.call("GET", "/files", token)
    assert status == 200
    [listed] = page["items"]
    assert page["next_cursor"] is None
    assert {k: v for k, v in listed.items() if k != "download_url"} == meta
    assert (await api.fetch(listed["download_url"]))[1] == PNG  # no request per file

    status, got, _ = await api.call("GET", f"/files/{meta['id']}", token)
    assert status == 200
    assert got["download_url"].startswith(f"http://localhost{API}/files/blob/")
    assert {k: v for k, v in got.items() if k != "download_url"} == meta
    status, data, headers = await api.fetch(got["download_url"])
    assert status == 200
    assert data == PNG
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Disposition"] == content_disposition("holiday.png")

    status, _, headers = await api.call("GET", f"/files/{meta['id']}/download", token)
    assert status == 302
    status, data, _ = await api.fetch(headers["Location"])
    assert (status, data) == (200, PNG)

    status, body, _ = await api.call("DELETE", f"/files/{meta['id']}", token)
    assert (status, body) == (204, None)
    assert stored_objects(api) == {}
    assert (await api.call("GET", f"/files/{meta['id']}", token))[0] == 404
    assert (await api.call("GET", "/files", token))[1]["items"] == []
    assert (await api.fetch(got["download_url"]))[0] == 403
    status, body, _ = await api.call("DELETE", f"/files/{meta['id']}", token)
    assert (status, error_code(body)) == (404, "not_found")


async def test_listing_is_newest_first_and_follows_the_cursor(api: FilesClient) -> None:
    token = await api.token(ADA)
    ids = [(await api.upload(token, TEXT, f"{n}.txt", "text/plain"))[1]["id"] for n in range(5)]

    seen: list[str] = []
    path = "/files?limit=2"
    while True:
        status, page, _ = await api.call("GET", path, token)
        assert status == 200
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        path = f"/files?limit=2&cursor={page['next_cursor']}"
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 5
    _, first, _ = await api.call("GET", f"/files/{seen[0]}", token)
    _, last, _ = await api.call("GET", f"/files/{seen[-1]}", token)
    assert first["created_at"] >= last["created_at"]


async def test_listing_parameters_are_validated(api: FilesClient) -> None:
    token = await api.token(ADA)
    for query in ("limit=0", "limit=101", "limit=abc"):
        status, body, _ = await api.call("GET", f"/files?{query}", token)
        assert (status, error_code(body)) == (422, "validation_error"), query
    status, body, _ = await api.call("GET", "/files?cursor=bm9wZQ", token)
    assert (status, error_code(body)) == (400, "invalid_cursor")


# types -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename", "declared"),
    [
        (PNG, "scan.pdf", "application/pdf"),  # a PNG declared as PDF
        (EXE, "cat.png", "image/png"),  # an executable renamed .png
        (EXE, "cat.png", None),
        (EXE, "cat.png", "application/octet-stream"),
        (TEXT, "page.html", "text/html"),  # a type that is not allowed
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "a.svg", "image/svg+xml"),
    ],
)
async def test_bytes_that_are_not_an_allowed_type_or_not_the_declared_one_are_415(
    api: FilesClient, data: bytes, filename: str, declared: str | None
) -> None:
    token = await api.token(ADA)

    status, body = await api.upload(token, data, filename, declared)

    assert (status, error_code(body)) == (415, "unsupported_media_type")
    assert stored_objects(api) == {}
    assert (await api.call("GET", "/files", token))[1]["items"] == []


async def test_an_undeclared_type_is_taken_from_the_bytes(api: FilesClient) -> None:
    token = await api.token(ADA)
    status, meta = await api.upload(token, PDF, "report", None)
    assert (status, meta["content_type"]) == (201, "application/pdf")


async def test_allowed_content_types_come_from_the_settings(make_app: AppFactory) -> None:
    async for api in client_for(make_app, {"ALLOWED_CONTENT_TYPES": "application/pdf"}):
        token = await api.token(ADA)
        assert (await api.upload(token, PDF, "a.pdf", "application/pdf"))[0] == 201
        assert (await api.upload(token, PNG, "a.png", "image/png"))[0] == 415


# sizes -----------------------------------------------------------------------------------------


async def test_an_upload_over_the_limit_is_413_and_nothing_is_stored(
    make_app: AppFactory,
) -> None:
    async for api in client_for(make_app, {"MAX_UPLOAD_BYTES": "100000"}):
        token = await api.token(ADA)
        status, body = await api.upload(token, PNG[:100_001], "big.png", "image/png")
        assert (status, error_code(body)) == (413, "payload_too_large")
        status, meta = await api.upload(token, PNG[:100_000], "fits.png", "image/png")
        assert status == 201
        assert [key.rsplit("/", 1)[1] for key in stored_objects(api)] == [meta["id"]]


async def test_a_body_announced_over_the_limit_is_refused_before_it_is_read(
    make_app: AppFactory,
) -> None:
    async for api in client_for(make_app, {"MAX_UPLOAD_BYTES": "100000"}):
        token = await api.token(ADA)
        body = multipart(file_part(PNG, "big.png", "image/png"))
        status, answer = await api.send_form(f"{API}/files", body, token)
        assert (status, error_code(answer)) == (413, "payload_too_large")


# the form itself ------------------------------------------------------------------------------


async def test_a_form_without_the_file_field_is_422(api: FilesClient) -> None:
    token = await api.token(ADA)
    body = multipart(field_part("name", "x"), file_part(PNG, field="attachment"))
    status, answer = await api.send_form(f"{API}/files", body, token)
    assert (status, error_code(answer)) == (422, "validation_error")
    assert answer["error"]["details"][0]["field"] == "file"


async def test_a_body_that_is_not_multipart_is_415_and_a_broken_one_400(
    api: FilesClient,
) -> None:
    token = await api.token(ADA)
    status, answer = await api.send_form(
        f"{API}/files", b'{"file": "x"}', token, **{"Content-Type": "application/json"}
    )
    assert (status, error_code(answer)) == (415, "unsupported_media_type")
    truncated = file_part(PNG)[:5000]  # no closing boundary
    status, answer = await api.send_form(f"{API}/files", truncated, token)
    assert (status, error_code(answer)) == (400, "bad_request")
    assert stored_objects(api) == {}


# names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "encoded", "shown"),
    [
        ("../../etc/passwd.txt", False, "etcpasswd.txt"),
        ("..\\..\\windows\\win.ini.txt", False, "windowswin.ini.txt"),
        ("bell\x07esc\x1b.txt", False, "bellesc.txt"),
        ("new\nline\r\x00nul.txt", True, "newlinenul.txt"),
        ("caf\u0065\u0301 写真 📷.txt", True, "caf\u00e9 写真 📷.txt"),
        ("caf\u00e9 写真 📷.txt", False, "caf\u00e9 写真 📷.txt"),
        ("rtl\u202etxt.exe.txt", True, "rtltxt.exe.txt"),
        ("", False, "file"),
    ],
)
async def test_hostile_file_names_are_made_safe_and_never_reach_a_key(
    api: FilesClient, sent: str, encoded: bool, shown: str
) -> None:
    token = await api.token(ADA)

    status, meta = await api.upload(token, TEXT, sent, "text/plain", encoded_name=encoded)

    assert status == 201, meta
    assert meta["name"] == shown
    [key] = stored_objects(api)
    assert key.endswith(meta["id"])
    assert all(part.isalnum() for part in key.split("/"))
    status, got, _ = await api.call("GET", f"/files/{meta['id']}", token)
    headers = (await api.fetch(got["download_url"]))[2]
    assert headers["Content-Disposition"] == content_disposition(shown)


async def test_a_thousand_character_name_is_capped_keeping_its_extension(
    api: FilesClient,
) -> None:
    token = await api.token(ADA)
    status, meta = await api.upload(token, TEXT, "ä" * 996 + ".txt", "text/plain")
    assert status == 201
    assert len(meta["name"]) == 255
    assert meta["name"].endswith("ä.txt")


# direct uploads -----------------------------------------------------------------------------------


async def start(api: FilesClient, token: str, data: bytes, content_type: str) -> Any:
    status, ticket, _ = await api.post(
        "/files/uploads",
        {"name": "direct.png", "size": len(data), "content_type": content_type},
        token,
    )
    assert status == 201, ticket
    return ticket


async def post_to_storage(api: FilesClient, upload: Any, data: bytes, **fields: str) -> int:
    form = [field_part(k, v) for k, v in {**upload["fields"], **fields}.items()]
    body = multipart(*form, file_part(data, "direct.png", "application/octet-stream"))
    status, _ = await api.send_form(path_of(upload["url"]), body)
    return status


async def test_a_direct_upload_is_pending_until_completed_then_ready(api: FilesClient) -> None:
    token = await api.token(ADA)
    ticket = await start(api, token, PNG, "image/png")
    assert_file_meta(ticket["file"], "pending")
    upload = ticket["upload"]
    assert upload["method"] == "POST"
    assert upload["url"].startswith(f"http://localhost{API}/files/blob/")
    assert upload["fields"]["Content-Type"] == "image/png"
    assert upload["expires_at"].endswith("Z")
    file_id = ticket["file"]["id"]

    status, body, _ = await api.call("POST", f"/files/{file_id}/complete", token)
    assert (status, error_code(body)) == (409, "upload_incomplete")
    assert (await api.call("GET", f"/files/{file_id}/download", token))[0] == 409
    status, pending, _ = await api.call("GET", f"/files/{file_id}", token)
    assert status == 200
    assert "download_url" not in pending

    assert await post_to_storage(api, upload, PNG) == 204
    status, ready, _ = await api.call("POST", f"/files/{file_id}/complete", token)
    assert status == 200
    assert_file_meta(ready, "ready")
    status, got, _ = await api.call("GET", f"/files/{file_id}", token)
    assert (await api.fetch(got["download_url"]))[1] == PNG


async def test_a_listing_links_its_ready_files_only(api: FilesClient) -> None:
    token = await api.token(ADA)
    status, ready = await api.upload(token, TEXT, "notes.txt", "text/plain")
    assert status == 201
    pending = (await start(api, token, PNG, "image/png"))["file"]
    status, page, _ = await api.call("GET", "/files", token)
    assert status == 200
    by_id = {item["id"]: item for item in page["items"]}
    assert "download_url" not in by_id[pending["id"]]
    assert (await api.fetch(by_id[ready["id"]]["download_url"]))[1] == TEXT


async def test_a_direct_upload_that_sends_more_than_announced_is_refused(
    api: FilesClient,
) -> None:
    token = await api.token(ADA)
    ticket = await start(api, token, PNG, "image/png")

    assert await post_to_storage(api, ticket["upload"], PNG + b"extra") == 413
    assert await post_to_storage(api, ticket["upload"], PNG[:-1]) == 400
    assert (
        await post_to_storage(api, ticket["upload"], PNG, **{"Content-Type": "text/plain"}) == 415
    )

    status, body, _ = await api.call("POST", f"/files/{ticket['file']['id']}/complete", token)
    assert (status, error_code(body)) == (409, "upload_incomplete")
    assert stored_objects(api) == {}


async def test_completing_a_direct_upload_of_other_bytes_deletes_them_and_is_415(
    api: FilesClient,
) -> None:
    token = await api.token(ADA)
    fake = EXE[: len(PNG)]
    ticket = await start(api, token, fake, "image/png")
    assert await post_to_storage(api, ticket["upload"], fake) == 204

    status, body, _ = await api.call("POST", f"/files/{ticket['file']['id']}/complete", token)

    assert (status, error_code(body)) == (415, "unsupported_media_type")
    assert stored_objects(api) == {}


async def test_a_direct_upload_over_the_limit_or_of_another_type_is_refused(
    api: FilesClient,
) -> None:
    token = await api.token(ADA)
    announce = {"name": "a.png", "size": 10 * 1024 * 1024 + 1, "content_type": "image/png"}
    status, body, _ = await api.post("/files/uploads", announce, token)
    assert (status, error_code(body)) == (413, "payload_too_large")
    announce = {"name": "a.html", "size": 10, "content_type": "text/html"}
    status, body, _ = await api.post("/files/uploads", announce, token)
    assert (status, error_code(body)) == (415, "unsupported_media_type")
    status, body, _ = await api.post("/files/uploads", {"name": "a", "size": 0}, token)
    assert (status, error_code(body)) == (422, "validation_error")


# expiry -----------------------------------------------------------------------------------------


async def test_expired_presigned_urls_are_refused(make_app: AppFactory) -> None:
    app, container = make_app({})
    use_fast_hasher(container)
    clock = MemoryClock(datetime.now(UTC))
    container.adapters.clock.override(providers.Object(clock))
    async with app.test_app() as test_app:
        api = FilesClient(test_app.test_client(), container)
        token = await api.token(ADA)
        _, meta = await api.upload(token, PNG)
        _, got, _ = await api.call("GET", f"/files/{meta['id']}", token)
        ticket = await start(api, token, PNG, "image/png")

        clock.advance(15 * 60)

        status, body, _ = await api.fetch(got["download_url"])
        assert status == 403
        assert b"forbidden" in body
        assert await post_to_storage(api, ticket["upload"], PNG) == 403


# ownership ----------------------------------------------------------------------------------------


async def test_another_users_files_are_404_on_every_route(api: FilesClient) -> None:
    ada, bob = await api.token(ADA), await api.token(BOB)
    _, ready = await api.upload(ada, PNG)
    pending = (await start(api, ada, PNG, "image/png"))["file"]

    for file_id in (ready["id"], pending["id"], "does-not-exist"):
        for method, path in (
            ("GET", f"/files/{file_id}"),
            ("GET", f"/files/{file_id}/download"),
            ("POST", f"/files/{file_id}/complete"),
            ("DELETE", f"/files/{file_id}"),
        ):
            status, body, _ = await api.call(method, path, bob)
            assert (status, error_code(body)) == (404, "not_found"), (method, path)

    status, page, _ = await api.call("GET", "/files", bob)
    assert page == {"items": [], "next_cursor": None}
    status, page, _ = await api.call("GET", "/files", ada)
    assert {item["id"] for item in page["items"]} == {ready["id"], pending["id"]}
    assert len(stored_objects(api)) == 1


async def test_every_files_route_needs_a_token(api: FilesClient) -> None:
    for method, path in (
        ("POST", "/files"),
        ("POST", "/files/uploads"),
        ("POST", "/files/x/complete"),
        ("GET", "/files"),
        ("GET", "/files/x"),
        ("GET", "/files/x/download"),
        ("DELETE", "/files/x"),
    ):
        status, body, _ = await api.call(method, path, None)
        assert (status, error_code(body)) == (401, "unauthorized"), (method, path)


async def test_the_openapi_document_describes_the_upload_as_multipart(api: FilesClient) -> None:
    response = await api.client.get("/openapi.json")
    spec = await response.get_json()
    body = spec["paths"]["/api/v1/files"]["post"]["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    form = body["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert spec["components"]["schemas"][form]["properties"]["file"]["format"] == "binary"
    download = spec["paths"]["/api/v1/files/{file_id}/download"]["get"]["responses"]
    assert "Location" in download["302"]["headers"]


# public files ----------------------------------------------------------------------------------


async def set_public(
    api: FilesClient, token: str | None, file_id: str, public: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await api.client.patch(
        f"{API}/files/{file_id}", json={"public": public}, headers=headers
    )
    return response.status_code, await response.get_json()


async def anonymous_get(api: FilesClient, url: str) -> tuple[int, bytes, Any]:
    """A GET with no token at all (as a browser's <img> or a CDN fetches it)."""
    assert url.startswith("http://"), "a public URL is absolute"
    response = await api.client.get(path_of(url))
    return response.status_code, await response.get_data(as_text=False), response.headers


async def test_a_public_image_is_served_without_a_token_until_it_is_private(
    api: FilesClient,
) -> None:
    token = await api.token(ADA)
    _, meta = await api.upload(token, PNG, "avatar.png", "image/png")
    assert meta["public"] is False
    assert "public_url" not in meta

    status, public = await set_public(api, token, meta["id"], True)

    assert status == 200, public
    assert public["public"] is True
    url = public["public_url"]
    assert meta["id"] in url
    assert "files/" not in path_of(url).removeprefix(f"{API}/files/blob/")
    status, data, headers = await anonymous_get(api, url)
    assert status == 200
    assert data == PNG
    assert headers["Content-Type"] == "image/png"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["X-Content-Type-Options"] == "nosniff"
    # the same URL on every read (stable), and in the listing
    _, got, _ = await api.call("GET", f"/files/{meta['id']}", token)
    assert (got["public"], got["public_url"]) == (True, url)
    _, page, _ = await api.call("GET", "/files", token)
    assert page["items"][0]["public_url"] == url
    status, again = await set_public(api, token, meta["id"], True)
    assert (status, again["public_url"]) == (200, url)

    status, private = await set_public(api, token, meta["id"], False)

    assert status == 200
    assert private["public"] is False
    assert "public_url" not in private
    status, data, _ = await anonymous_get(api, url)
    assert status == 404
    assert error_code(json.loads(data)) == "not_found"
    assert not [k for k in stored_objects(api) if k.startswith("public/")]

    # public again: a new URL, the old one stays dead (a CDN's cached copy is never reused)
    _, republished = await set_public(api, token, meta["id"], True)
    assert republished["public_url"] != url
    assert (await anonymous_get(api, republished["public_url"]))[0] == 200
    assert (await anonymous_get(api, url))[0] == 404


async def test_only_images_can_be_made_public(api: FilesClient) -> None:
    token = await api.token(ADA)
    for data, name, kind in ((PDF, "a.pdf", "application/pdf"), (TEXT, "a.txt", "text/plain")):
        _, meta = await api.upload(token, data, name, kind)

        status, body = await set_public(api, token, meta["id"], True)

        assert status == 409
        assert error_code(body) == "not_an_image"
        _, got, _ = await api.call("GET", f"/files/{meta['id']}", token)
        assert got["public"] is False
        assert "public_url" not in got
    assert not [k for k in stored_objects(api) if k.startswith("public/")]


async def test_another_users_file_cannot_be_made_public_or_private(api: FilesClient) -> None:
    ada, bob = await api.token(ADA), await api.token(BOB)
    _, meta = await api.upload(ada, PNG, "a.png", "image/png")

    for public in (True, False):
        status, body = await set_public(api, bob, meta["id"], public)
        assert status == 404
        assert error_code(body) == "not_found"
    assert (await set_public(api, None, meta["id"], True))[0] == 401
    assert (await set_public(api, bob, "nope", True))[0] == 404
    _, got, _ = await api.call("GET", f"/files/{meta['id']}", ada)
    assert got["public"] is False


async def test_the_body_must_be_a_boolean(api: FilesClient) -> None:
    token = await api.token(ADA)
    _, meta = await api.upload(token, PNG, "a.png", "image/png")
    for bad in ("yes", 1, None):
        status, body = await set_public(api, token, meta["id"], bad)
        assert status == 422, bad
        assert error_code(body) == "validation_error"


async def test_deleting_a_public_file_deletes_its_public_copy_and_gives_its_bytes_back(
    make_app: AppFactory,
) -> None:
    # room for the file twice (it and its public copy), not three times
    env = {"STORAGE_QUOTA_BYTES": str(2 * len(PNG) + 10)}
    async for api in client_for(make_app, env):
        token = await api.token(ADA)
        _, meta = await api.upload(token, PNG, "a.png", "image/png")
        _, public = await set_public(api, token, meta["id"], True)
        url = public["public_url"]
        status, body = await api.upload(token, PNG, "b.png", "image/png")
        assert (status, error_code(body)) == (413, "quota_exceeded"), "the copy counts"

        status, _, _ = await api.call("DELETE", f"/files/{meta['id']}", token)

        assert status == 204
        assert (await anonymous_get(api, url))[0] == 404
        assert stored_objects(api) == {}
        status, second = await api.upload(token, PNG, "b.png", "image/png")
        assert status == 201
        assert (await api.upload(token, PNG, "c.png", "image/png"))[0] == 201
        status, body = await set_public(api, token, second["id"], True)
        assert (status, error_code(body)) == (413, "quota_exceeded")
        assert (await set_public(api, token, second["id"], False))[0] == 200


async def test_a_pending_direct_upload_cannot_be_made_public(api: FilesClient) -> None:
    token = await api.token(ADA)
    response = await api.client.post(
        f"{API}/files/uploads",
        json={"name": "a.png", "size": len(PNG), "content_type": "image/png"},
        headers={"Authorization": f"Bearer {token}"},
    )
    ticket = await response.get_json()

    status, body = await set_public(api, token, ticket["file"]["id"], True)

    assert (status, error_code(body)) == (409, "upload_incomplete")


# resumable multipart direct uploads ----------------------------------------------------------

PART = 8 * 1024 * 1024
BIG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * ((2 * PART) // 256) + b"end"


async def jcall(
    api: FilesClient, method: str, path: str, token: str | None, body: Any = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await api.client.open(f"{API}{path}", method=method, headers=headers, json=body)
    return response.status_code, await response.get_json()


async def start_multipart(
    api: FilesClient, token: str, data: bytes, content_type: str = "image/png"
) -> Any:
    body = {"name": "big.png", "size": len(data), "content_type": content_type}
    status, started = await jcall(api, "POST", "/files/multipart", token, body)
    assert status == 201, started
    return started


async def put_parts(
    api: FilesClient, token: str, file_id: str, data: bytes, numbers: list[int]
) -> dict[int, str]:
    status, urls = await jcall(
        api, "POST", f"/files/{file_id}/multipart/parts", token, {"part_numbers": numbers}
    )
    assert status == 200, urls
    assert urls["expires_at"].endswith("Z")
    etags: dict[int, str] = {}
    for entry in urls["parts"]:
        n = entry["part_number"]
        assert entry["url"].startswith(f"http://localhost{API}/files/blob/")
        response = await api.client.put(path_of(entry["url"]), data=data[(n - 1) * PART : n * PART])
        assert response.status_code == 200, await response.get_data()
        etags[n] = response.headers["ETag"]
    return etags


async def test_an_interrupted_multipart_upload_resumes_and_downloads_the_exact_bytes(
    api: FilesClient,
) -> None:
    token = await api.token(ADA)
    started = await start_multipart(api, token, BIG)
    assert_file_meta(started["file"], "pending")
    assert (started["part_size"], started["part_count"]) == (PART, 3)
    assert started["upload_id"]
    file_id = started["file"]["id"]

    await put_parts(api, token, file_id, BIG, [1, 3])  # then the connection is lost
    # completing now is 409, naming what is missing
    partial = [{"part_number": n, "etag": "x"} for n in (1, 2, 3)]
    status, body = await jcall(
        api, "POST", f"/files/{file_id}/multipart/complete", token, {"parts": partial}
    )
    assert (status, error_code(body)) == (409, "upload_incomplete")
    assert "2" in body["error"]["message"]

    # after a reload: what arrived, then the rest
    status, progress = await jcall(api, "GET", f"/files/{file_id}/multipart", token)
    assert status == 200
    assert (progress["part_size"], progress["part_count"]) == (PART, 3)
    arrived = {p["part_number"]: p for p in progress["parts"]}
    assert sorted(arrived) == [1, 3]
    assert arrived[1]["size"] == PART and arrived[3]["size"] == len(BIG) - 2 * PART
    etags = {n: p["etag"] for n, p in arrived.items()}
    etags |= await put_parts(api, token, file_id, BIG, [2])

    parts = [{"part_number": n, "etag": etags[n]} for n in (1, 2, 3)]
    status, ready = await jcall(
        api, "POST", f"/files/{file_id}/multipart/complete", token, {"parts": parts}
    )
    assert status == 200, ready
    assert_file_meta(ready, "ready")
    assert ready["size"] == len(BIG)
    status, got, _ = await api.call("GET", f"/files/{file_id}", token)
    assert (await api.fetch(got["download_url"]))[1] == BIG
    # served from the promoted key only: nothing left on the staging key
    assert set(stored_objects(api)) == {f"files/{_owner(api, file_id)}"}
    # a retried completion answers the same; the upload takes no more parts
    status, again = await jcall(
        api, "POST", f"/files/{file_id}/multipart/complete", token, {"parts": parts}
    )
    assert (status, again["status"]) == (200, "ready")
    for method, sub, body in (
        ("GET", "", None),
        ("POST", "/parts", {"part_numbers": [1]}),
        ("DELETE", "", None),
    ):
        status, answer = await jcall(api, method, f"/files/{file_id}/multipart{sub}", token, body)
        assert (status, error_code(answer)) == (409, "no_multipart_upload"), (method, sub)


def _owner(api: FilesClient, file_id: str) -> str:
    files = api.container.adapters.files()
    assert isinstance(files, MemoryFileRepository)
    return f"{files._files[file_id].owner_id}/{file_id}"


async def test_multipart_part_numbers_and_part_lists_are_checked(api: FilesClient) -> None:
    token = await api.token(ADA)
    file_id = (await start_multipart(api, token, BIG))["file"]["id"]
    path = f"/files/{file_id}/multipart"

    for numbers in ([4], [1, 1]):
        status, body = await jcall(api, "POST", f"{path}/parts", token, {"part_numbers": numbers})
        assert (status, error_code(body)) == (400, "invalid_part"), numbers
    invalid: list[list[object]] = [[], [0], [True]]
    for wrong_type in invalid:
        status, body = await jcall(
            api, "POST", f"{path}/parts", token, {"part_numbers": wrong_type}
        )
        assert (status, error_code(body)) == (422, "validation_error"), wrong_type

    etags = await put_parts(api, token, file_id, BIG, [1, 2, 3])
    good = [{"part_number": n, "etag": etags[n]} for n in (1, 2, 3)]
    for wrong in (
        good[:2],  # not every part
        [good[1], good[0], good[2]],  # out of order
        [good[0], {"part_number": 2, "etag": etags[1]}, good[2]],  # another part's ETag
        [*good, {"part_number": 4, "etag": "x"}],  # a part the upload does not have
    ):
        status, body = await jcall(api, "POST", f"{path}/complete", token, {"parts": wrong})
        assert (status, error_code(body)) == (400, "invalid_part"), wrong
    status, ready = await jcall(api, "POST", f"{path}/complete", token, {"parts": good})
    assert (status, ready["status"]) == (200, "ready")


async def test_a_part_of_another_size_is_refused_by_its_url(api: FilesClient) -> None:
    token = await api.token(ADA)
    file_id = (await start_multipart(api, token, BIG))["file"]["id"]
    _, urls = await jcall(
        api, "POST", f"/files/{file_id}/multipart/parts", token, {"part_numbers": [1]}
    )
    url = path_of(urls["parts"][0]["url"])

    assert (await api.client.put(url, data=BIG[: PART + 1])).status_code == 413
    assert (await api.client.put(url, data=BIG[: PART - 1])).status_code == 400
    assert (await jcall(api, "GET", f"/files/{file_id}/multipart", token))[1]["parts"] == []


async def test_a_multipart_upload_of_other_bytes_is_415_and_deleted(api: FilesClient) -> None:
    token = await api.token(ADA)
    data = b"%PDF-1.7\n" + bytes(PART)  # announced as an image
    file_id = (await start_multipart(api, token, data))["file"]["id"]
    etags = await put_parts(api, token, file_id, data, [1, 2])

    parts = [{"part_number": n, "etag": etags[n]} for n in (1, 2)]
    status, body = await jcall(
        api, "POST", f"/files/{file_id}/multipart/complete", token, {"parts": parts}
    )
    assert (status, error_code(body)) == (415, "unsupported_media_type")
    assert stored_objects(api) == {}


async def test_aborting_a_multipart_upload_gives_the_quota_back(make_app: AppFactory) -> None:
    env = {"STORAGE_QUOTA_BYTES": str(len(BIG) + 10)}
    async for api in client_for(make_app, env):
        token = await api.token(ADA)
        file_id = (await start_multipart(api, token, BIG))["file"]["id"]
        await put_parts(api, token, file_id, BIG, [1])
        # the quota holds the announced size: a second upload does not fit
        body = {"name": "b.png", "size": len(BIG), "content_type": "image/png"}
        status, refused = await jcall(api, "POST", "/files/multipart", token, body)
        assert (status, error_code(refused)) == (413, "quota_exceeded")
        status, refused = await jcall(api, "POST", "/files/uploads", token, {**body, "size": 20})
        assert (status, error_code(refused)) == (413, "quota_exceeded")

        status, _ = await jcall(api, "DELETE", f"/files/{file_id}/multipart", token)
        assert status == 204
        assert (await jcall(api, "GET", f"/files/{file_id}", token))[0] == 404
        assert (await jcall(api, "GET", f"/files/{file_id}/multipart", token))[0] == 404
        blobs = api.container.adapters.blobs()
        assert isinstance(blobs, MemoryBlobStorage)
        assert blobs._uploads == {}
        # the bytes are given back
        assert (await jcall(api, "POST", "/files/multipart", token, body))[0] == 201


async def test_a_multipart_upload_over_its_limit_or_of_a_refused_type_is_refused(
    make_app: AppFactory,
) -> None:
    async for api in client_for(make_app, {"MULTIPART_MAX_BYTES": str(20 * 1024 * 1024)}):
        token = await api.token(ADA)
        body = {"name": "x.png", "size": 20 * 1024 * 1024 + 1, "content_type": "image/png"}
        status, refused = await jcall(api, "POST", "/files/multipart", token, body)
        assert (status, error_code(refused)) == (413, "payload_too_large")
        # larger than MAX_UPLOAD_BYTES (10 MiB) is what multipart is for
        body["size"] = 20 * 1024 * 1024
        assert (await jcall(api, "POST", "/files/multipart", token, body))[0] == 201
        status, refused = await jcall(
            api, "POST", "/files/multipart", token, {**body, "content_type": "text/html"}
        )
        assert (status, error_code(refused)) == (415, "unsupported_media_type")
        # a multipart upload is not completed by the form upload's route, nor the reverse
        file_id = (await start_multipart(api, token, BIG))["file"]["id"]
        status, refused = await jcall(api, "POST", f"/files/{file_id}/complete", token)
        assert (status, error_code(refused)) == (409, "upload_incomplete")
        form = {"name": "f.png", "size": 100, "content_type": "image/png"}
        _, ticket = await jcall(api, "POST", "/files/uploads", token, form)
        status, refused = await jcall(
            api,
            "POST",
            f"/files/{ticket['file']['id']}/multipart/complete",
            token,
            {"parts": [{"part_number": 1, "etag": "x"}]},
        )
        assert (status, error_code(refused)) == (409, "no_multipart_upload")


async def test_another_users_multipart_upload_is_404_on_every_route(api: FilesClient) -> None:
    ada, bob = await api.token(ADA), await api.token(BOB)
    file_id = (await start_multipart(api, ada, BIG))["file"]["id"]
    etags = await put_parts(api, ada, file_id, BIG, [1])
    path = f"/files/{file_id}/multipart"

    for method, sub, body in (
        ("GET", "", None),
        ("POST", "/parts", {"part_numbers": [1]}),
        ("POST", "/complete", {"parts": [{"part_number": 1, "etag": etags[1]}]}),
        ("DELETE", "", None),
    ):
        status, answer = await jcall(api, method, path + sub, bob, body)
        assert (status, error_code(answer)) == (404, "not_found"), (method, sub)
        status, answer = await jcall(api, method, path + sub, None, body)
        assert (status, error_code(answer)) == (401, "unauthorized"), (method, sub)
    status, progress = await jcall(api, "GET", path, ada)
    assert [p["part_number"] for p in progress["parts"]] == [1]


async def test_an_expired_multipart_upload_is_swept_with_its_parts(make_app: AppFactory) -> None:
    app, container = make_app({})
    use_fast_hasher(container)
    clock = MemoryClock(datetime.now(UTC))
    container.adapters.clock.override(providers.Object(clock))
    async with app.test_app() as test_app:
        api = FilesClient(test_app.test_client(), container)
        token = await api.token(ADA)
        file_id = (await start_multipart(api, token, BIG))["file"]["id"]
        await put_parts(api, token, file_id, BIG, [1])
        blobs = api.container.adapters.blobs()
        assert isinstance(blobs, MemoryBlobStorage)
        assert len(blobs._uploads) == 1

        clock.advance(3601)

        assert await api.container.services.files().sweep_expired_uploads() == 1
        assert blobs._uploads == {}
        assert await api.container.adapters.files().get(file_id) is None
