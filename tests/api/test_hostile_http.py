"""What schemathesis found over HTTP (RELIABILITY.md, "Hostile input"), pinned as plain
regression tests through the HTTP app, so none of it depends on a fuzzer finding it again."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.api.auth_client import API, AuthClient, use_fast_hasher
from tests.api.conftest import AppFactory

pytestmark = pytest.mark.api


@pytest_asyncio.fixture
async def api(make_app: AppFactory) -> AsyncIterator[AuthClient]:
    app, container = make_app({})
    use_fast_hasher(container)
    async with app.test_app() as test_app:
        yield AuthClient(test_app.test_client(), container)


async def token_of(api: AuthClient) -> str:
    return str((await api.signed_up("ada@example.com"))["access_token"])


async def test_a_json_body_that_is_not_utf8_is_invalid_json(api: AuthClient) -> None:
    token = await token_of(api)
    for path, bearer in (("/auth/signup", None), ("/users/me", token), ("/chat/rooms", token)):
        method = "PATCH" if path == "/users/me" else "POST"
        headers = {"Content-Type": "application/json"}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        response = await api.client.open(  # type: ignore[call-arg]
            f"{API}{path}", method=method, data=b'{"name": "\xff\xfe"}', headers=headers
        )
        body = await response.get_json()
        assert (response.status_code, body["error"]["code"]) == (400, "invalid_json"), path


async def test_a_seq_beyond_64_bits_is_a_validation_error(api: AuthClient) -> None:
    token = await token_of(api)
    _, room, _ = await api.post("/chat/rooms", {"name": "General"}, token)
    for query in ("after=9223372036854775808", "before=406994297088203399806443767988224"):
        status, body, _ = await api.get(f"/chat/rooms/{room['id']}/messages?{query}", token)
        assert (status, body["error"]["code"]) == (422, "validation_error"), query
    status, _, _ = await api.get(
        f"/chat/rooms/{room['id']}/messages?after=9223372036854775807", token
    )
    assert status == 200


async def test_json_types_are_not_coerced(api: AuthClient) -> None:
    token = await token_of(api)
    for simulated in (0, 1, "yes", "true", None):
        status, body, _ = await api.post(
            "/chat/rooms", {"name": "General", "simulated": simulated}, token
        )
        assert (status, body["error"]["code"]) == (422, "validation_error"), simulated
    for size in ("5", True, 5.5):
        status, body, _ = await api.post(
            "/files/uploads", {"name": "a.png", "size": size, "content_type": "image/png"}, token
        )
        assert (status, body["error"]["code"]) == (422, "validation_error"), size
    status, _, _ = await api.post(
        "/files/uploads", {"name": "a.png", "size": 5.0, "content_type": "image/png"}, token
    )
    assert status == 201  # 5.0 is a JSON integer


async def test_options_lists_the_methods_of_the_matched_route(api: AuthClient) -> None:
    response = await api.client.options(f"{API}/files/uploads")
    assert response.headers["Allow"] == "OPTIONS, POST"
    response = await api.client.options(f"{API}/files/some-file-id")
    allowed = set(response.headers["Allow"].split(", "))
    assert allowed == {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH"}


async def spec(api: AuthClient) -> dict[str, Any]:
    response = await api.client.get("/openapi.json")
    body: dict[str, Any] = await response.get_json()
    return body


async def test_the_spec_requires_bodies_and_required_query_parameters(api: AuthClient) -> None:
    paths = (await spec(api))["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert operation["requestBody"]["required"] is True, (method, path)
            for parameter in operation.get("parameters", ()):
                assert {"type": "null"} not in parameter["schema"].get("anyOf", []), path
    [to] = paths[f"{API}/dev/mailbox"]["get"]["parameters"]
    assert to["required"] is True
    assert "400" in paths[f"{API}/files"]["get"]["responses"]
    assert "429" in paths[f"{API}/auth/verify-email"]["post"]["responses"]


async def test_the_documented_patterns_are_what_the_validators_accept(api: AuthClient) -> None:
    document = await spec(api)
    paths, schemas = document["paths"], document["components"]["schemas"]

    def pattern(path: str, method: str, field: str) -> re.Pattern[str]:
        body = paths[f"{API}{path}"][method]["requestBody"]["content"]["application/json"]
        schema = schemas[body["schema"]["$ref"].rsplit("/", 1)[1]]
        return re.compile(schema["properties"][field]["pattern"])

    name = pattern("/users/me", "patch", "name")
    not_blank = pattern("/chat/rooms/{room_id}/messages", "post", "body")
    token = await token_of(api)
    for value in ("Ada", " Ada ", "\tAda\n", "A\x1bda", "   ", "\x85", "Ada\x85", "\ufeff"):
        response = await api.client.patch(
            f"{API}/users/me", json={"name": value}, headers={"Authorization": f"Bearer {token}"}
        )
        assert (response.status_code == 200) == bool(name.match(value)), repr(value)
    _, room, _ = await api.post("/chat/rooms", {"name": "General"}, token)
    for value in ("hi", " \t\n", "\x85", "\u3000", "\ufeff", " x "):
        status, _, _ = await api.post(f"/chat/rooms/{room['id']}/messages", {"body": value}, token)
        assert (status == 201) == bool(not_blank.search(value)), repr(value)
