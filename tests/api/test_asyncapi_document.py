"""`/asyncapi.json`: an AsyncAPI 3.0 document redocly finds no error in, generated from the
catalog in schemas/realtime.py, and that catalog true to the server: the namespace handles
exactly its client events, and a real server's acks and emitted events validate against the
documented models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from config.container import build_container
from config.settings import load_settings
from entrypoints.http.app import create_http_app
from entrypoints.realtime.server import ChatNamespace
from schemas.realtime import CLIENT_EVENTS, SERVER_EVENTS, ErrorAck
from tests.api.realtime_client import accept, call, connect, sign_up
from tests.support.node_tools import redocly_lint
from tests.support.processes import running_server

pytestmark = pytest.mark.api


@pytest.fixture
async def document() -> dict[str, Any]:
    app = create_http_app(build_container(load_settings({"APP_ENV": "development"})))
    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/asyncapi.json")
        assert response.status_code == 200
        found: dict[str, Any] = await response.get_json()
        return found


def test_redocly_finds_no_error(document: dict[str, Any], tmp_path: Path) -> None:
    report = redocly_lint(document, tmp_path, "asyncapi.json")
    assert report["totals"]["errors"] == 0, json.dumps(report["problems"], indent=1)[:4000]
    assert report["totals"]["warnings"] == 0, json.dumps(report["problems"], indent=1)[:4000]


def test_every_event_is_an_operation_with_its_payload(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    operations = document["operations"]

    def resolve(ref: dict[str, str]) -> dict[str, Any]:
        node: Any = document
        for part in ref["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        return resolve(node) if "$ref" in node else node

    def payload(message_ref: dict[str, str]) -> str:
        message = resolve(message_ref)
        return str(message["payload"]["$ref"]).rsplit("/", 1)[1]

    for client in CLIENT_EVENTS:
        operation = operations[client.operation]
        assert operation["action"] == "receive"
        assert resolve(operation["messages"][0])["name"] == client.name
        assert payload(operation["messages"][0]) == client.payload.__name__
        replies = [payload(m) for m in operation["reply"]["messages"]]
        assert replies == [client.ack.__name__, "ErrorAck"]
    for server in SERVER_EVENTS:
        operation = operations[server.operation]
        assert operation["action"] == "send"
        assert resolve(operation["messages"][0])["name"] == server.name
        assert payload(operation["messages"][0]) == server.payload.__name__
    schemas = document["components"]["schemas"]
    assert "ErrorCode" in schemas and "unknown_event" in schemas["ErrorCode"]["enum"]
    assert schemas["SendPayload"]["required"] == ["room_id", "body"]


def test_the_namespace_handles_exactly_the_catalogs_client_events() -> None:
    assert set(ChatNamespace.EVENTS) == {c.name for c in CLIENT_EVENTS}


def valid(model: type[BaseModel], data: Any) -> BaseModel:
    return model.model_validate(data)


async def test_a_real_servers_acks_and_events_match_the_documented_models() -> None:
    client = {c.name: c for c in CLIENT_EVENTS}
    server_models = {s.name: s.payload for s in SERVER_EVENTS}
    with running_server(env={"APP_ENV": "development"}) as server:
        ada = await sign_up(server.url, "asyncapi-ada@example.com", "Ada")
        bob = await sign_up(server.url, "asyncapi-bob@example.com", "Bob")
        status, room = await call(server.url, ada, "POST", "/chat/rooms", {"name": "Spec"})
        assert status == 201
        bobs = await connect(server.url, bob)
        adas = None
        try:
            added = await call(
                server.url,
                ada,
                "POST",
                f"/chat/rooms/{room['id']}/members",
                {"user_id": bob.user_id},
            )
            assert added[0] == 200
            await bobs.wait_for("room:invited")
            await accept(server.url, bob, room["id"])
            await bobs.wait_for("room:added")
            await bobs.wait_for("room:member_added")
            adas = await connect(server.url, ada)  # Bob, in the room, sees Ada come online
            await bobs.wait_for("presence")
            joined = await bobs.ask("room:join", {"room_id": room["id"]})
            valid(client["room:join"].ack, joined)
            sent = await adas.ask(
                "message:send", {"room_id": room["id"], "body": "hello", "client_id": "c1"}
            )
            valid(client["message:send"].ack, sent)
            typing = await adas.ask("typing", {"room_id": room["id"], "is_typing": True})
            valid(client["typing"].ack, typing)
            await bobs.wait_for("message:new")
            await bobs.wait_for("typing")
            mid = sent["message"]["id"]
            edit = {"room_id": room["id"], "message_id": mid, "body": "hello!"}
            valid(client["message:edit"].ack, await adas.ask("message:edit", edit))
            await bobs.wait_for("message:updated")
            gone = await adas.ask("message:delete", {"room_id": room["id"], "message_id": mid})
            valid(client["message:delete"].ack, gone)
            await bobs.wait_for("message:deleted")
            failed = await adas.ask("room:join", {"room_id": "no-such-room"})
            assert valid(ErrorAck, failed).error.code == "not_found"  # type: ignore[attr-defined]
            unknown = await adas.ask("no:such", {})
            assert valid(ErrorAck, unknown).error.code == "unknown_event"  # type: ignore[attr-defined]
            malformed = await adas.ask("message:send", {"room_id": room["id"]})
            assert valid(ErrorAck, malformed).error.code == "validation_error"  # type: ignore[attr-defined]
            from_bob = {"room_id": room["id"], "body": "seen?", "client_id": "b1"}
            valid(client["message:send"].ack, await bobs.ask("message:send", from_bob))
            read = await adas.ask("room:read", {"room_id": room["id"], "seq": 2})  # Bob's
            valid(client["room:read"].ack, read)
            await bobs.wait_for("receipt")
            renewed = await adas.ask("auth:renew", {"token": ada.token})
            valid(client["auth:renew"].ack, renewed)
            cy = await sign_up(server.url, "asyncapi-cy@example.com", "Cy")
            invite = {"user_id": cy.user_id}
            await call(server.url, ada, "POST", f"/chat/rooms/{room['id']}/members", invite)
            await bobs.wait_for("room:updated")
            await call(server.url, ada, "POST", f"/chat/rooms/{room['id']}/leave")
            await bobs.wait_for("room:member_left")
            out = await call(server.url, bob, "POST", "/auth/logout-all")
            assert out[0] == 204
            await bobs.wait_for("session:ended")
        finally:
            if adas is not None:
                await adas.close()
            await bobs.close()
    received = {name for name, _ in bobs.events}
    assert received == set(server_models)
    for name, data in bobs.events:
        valid(server_models[name], data)
