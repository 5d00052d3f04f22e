"""docs/api.md, the contract in the repository, against the OpenAPI document the server serves:
every route its tables list exists with the same lock (🔒 = bearer token), and every operation
the server documents (but the health check and the development-only routes, listed under
"Operations") is in a table. The Socket.IO events it lists are the AsyncAPI catalog's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from config.container import build_container
from config.settings import load_settings
from entrypoints.http.app import create_http_app
from schemas.realtime import CLIENT_EVENTS, SERVER_EVENTS

pytestmark = pytest.mark.api

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"
ROW = re.compile(r"^\| (GET|POST|PATCH|PUT|DELETE) (/[^ |?]*)\S*( 🔒)? \|", re.M)


def normalized(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.fixture
async def operations() -> dict[tuple[str, str], dict[str, Any]]:
    app = create_http_app(build_container(load_settings({"APP_ENV": "development"})))
    async with app.test_app() as test_app:
        document = await (await test_app.test_client().get("/openapi.json")).get_json()
    return {
        (method.upper(), normalized(path)): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


def documented() -> dict[tuple[str, str], bool]:
    rows = ROW.findall(API_MD.read_text())
    assert len(rows) >= 20
    return {(m, normalized(f"/api/v1{p}")): bool(lock) for m, p, lock in rows}


def test_every_route_in_the_tables_is_served_with_the_same_lock(
    operations: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for (method, path), locked in documented().items():
        assert (method, path) in operations, f"docs/api.md lists {method} {path}: not served"
        secured = bool(operations[(method, path)]["security"])
        assert locked == secured, f"{method} {path}: 🔒 in docs/api.md is {locked}"


def test_every_served_operation_is_in_the_tables(
    operations: dict[tuple[str, str], dict[str, Any]],
) -> None:
    listed = set(documented())
    for (method, path), operation in operations.items():
        if path == "/health" or operation.get("x-dev-only"):
            continue
        assert (method, path) in listed, f"{method} {path} is served but not in docs/api.md"


def test_the_realtime_section_lists_the_catalogs_events() -> None:
    section = API_MD.read_text().split("## Realtime", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"^ {2}- `([a-z:_]+)`", section, re.M))
    assert named == {e.name for e in CLIENT_EVENTS} | {e.name for e in SERVER_EVENTS}
