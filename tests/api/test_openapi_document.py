"""The OpenAPI document as code generators need it (issue 16): named components, optional
fields that are really optional, one enum of error codes, declared headers, clean operation
ids, tags, public routes marked, and `redocly lint` (recommended rules) without an error."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from config.container import build_container
from config.settings import load_settings
from entrypoints.http.app import create_http_app
from schemas.common import ErrorCode
from tests.support.node_tools import redocly_lint

pytestmark = pytest.mark.api

type Document = dict[str, Any]


async def served_document(env: dict[str, str]) -> Document:
    app = create_http_app(build_container(load_settings(env)))
    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/openapi.json")
        assert response.status_code == 200
        document: Document = await response.get_json()
        return document


@pytest.fixture
async def document() -> Document:
    return await served_document({"APP_ENV": "development"})


def operations(document: Document) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def schema(document: Document, name: str) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"][name]
    return found


def test_redocly_lint_finds_no_error(document: Document, tmp_path: Path) -> None:
    report = redocly_lint(document, tmp_path, "openapi.json")
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    assert report["totals"]["errors"] == 0, json.dumps(errors, indent=1)[:4000]


def test_every_body_is_a_named_component_with_the_contracts_name(document: Document) -> None:
    names = set(document["components"]["schemas"])
    contract = {"User", "TokenPair", "ResetGrant", "FileMeta", "FilePage", "UploadTicket"}
    contract |= {"Room", "RoomList", "Message", "MessagePage", "ErrorResponse", "ErrorCode"}
    assert contract <= names
    assert not {n for n in names if n.endswith(("Out", "In"))}
    assert {"SignupRequest", "RoomRequest", "MessageRequest"} <= names
    for method, path, operation in operations(document):
        bodies = [operation.get("requestBody", {}), *operation["responses"].values()]
        for body in bodies:
            for media_type, media in body.get("content", {}).items():
                if media_type == "application/json":
                    assert set(media["schema"]) == {"$ref"}, (method, path)


def test_fields_the_server_leaves_out_are_optional_and_never_null(document: Document) -> None:
    for name, field in [("FileMeta", "download_url"), ("Message", "client_id")]:
        component = schema(document, name)
        assert field not in component["required"]
        assert component["properties"][field]["type"] == "string"
        assert "anyOf" not in component["properties"][field]
    body = schema(document, "ErrorBody")
    assert "details" not in body["required"]
    assert body["properties"]["details"]["items"] == {"$ref": "#/components/schemas/ErrorDetail"}
    assert body["properties"]["code"] == {"$ref": "#/components/schemas/ErrorCode"}
    assert set(schema(document, "ErrorCode")["enum"]) == {c.value for c in ErrorCode}
    assert {"bad_request", "request_timeout", "headers_too_large"} <= set(
        schema(document, "ErrorCode")["enum"]
    )


def test_literals_times_and_the_otp_answer_are_typed(document: Document) -> None:
    assert schema(document, "VerificationSent")["properties"]["status"]["const"] == (
        "verification_sent"
    )
    assert schema(document, "CodeSent")["properties"]["status"]["const"] == "sent_if_exists"
    for name in ("User", "FileMeta", "Room", "Message"):
        assert schema(document, name)["properties"]["created_at"]["format"] == "date-time"
    answer = schema(document, "OtpVerify")
    assert answer["discriminator"]["propertyName"] == "token_type"
    assert answer["discriminator"]["mapping"] == {
        "bearer": "#/components/schemas/TokenPair",
        "mfa": "#/components/schemas/MfaChallenge",
        "reset": "#/components/schemas/ResetGrant",
    }
    assert "token_type" in schema(document, "ResetGrant")["required"]
    login = schema(document, "Login")
    assert login["discriminator"]["mapping"] == {
        "bearer": "#/components/schemas/TokenPair",
        "mfa": "#/components/schemas/MfaChallenge",
    }


def test_headers_ids_tags_and_security(document: Document) -> None:
    assert set(document["components"]["headers"]) >= {"X-Request-ID", "Retry-After"}
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-zA-Z]*", i) for i in ids), ids
    assert {"createRoom", "listFiles", "deleteFile", "getFile", "verifyCode"} <= set(ids)
    assert document["servers"]
    tags = {t["name"] for t in document["tags"]}
    for method, path, operation in operations(document):
        assert operation["tags"] and set(operation["tags"]) <= tags, (method, path)
        responses = operation["responses"]
        for status, response in responses.items():
            assert "X-Request-ID" in response["headers"], (method, path, status)
        if "429" in responses:
            assert "Retry-After" in responses["429"]["headers"]
        if operation["security"]:
            for status, response in responses.items():
                if status != "401":
                    assert "X-RateLimit-Remaining" in response["headers"], (method, path, status)
        else:
            assert operation["security"] == []
    by_id = {operation["operationId"]: operation for _, _, operation in operations(document)}
    assert by_id["login"]["security"] == []
    assert by_id["listFiles"]["security"] == [{"bearer": []}]
    assert by_id["getMailbox"]["x-dev-only"] is True
    assert "x-dev-only" not in by_id["listFiles"]
