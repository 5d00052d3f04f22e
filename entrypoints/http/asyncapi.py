"""`GET /asyncapi.json`: the Socket.IO contract as an AsyncAPI 3.0 document, generated from the
catalog in schemas/realtime.py and the pydantic models the server validates and emits with.

AsyncAPI's point of view is the server's: a client event is an operation the server
`receive`s, with the Socket.IO ack as its `reply`; a server event is one it `send`s. Socket.IO
is no AsyncAPI protocol of its own: the server is `ws` at `/socket.io` (Engine.IO v4, also
long-polling), its one channel the default namespace `/`.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from quart import Blueprint, Response, jsonify
from quart_schema import hide

from entrypoints.http.deps import container
from schemas.realtime import (
    CLIENT_EVENTS,
    NAMESPACE,
    PATH,
    SERVER_EVENTS,
    ConnectAuth,
    ErrorAck,
)

blueprint = Blueprint("asyncapi", __name__)

_SCHEMAS = "#/components/schemas/{model}"
_CHANNEL = "chat"


def _key(event: str) -> str:
    """An AsyncAPI component key for a Socket.IO event name: `message:send` -> `messageSend`."""
    head, *rest = re.split(r"[:_-]", event)
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _message(name: str, summary: str, model: type[BaseModel]) -> dict[str, Any]:
    return {
        "name": name,
        "title": name,
        "summary": summary,
        "contentType": "application/json",
        "payload": {"$ref": _SCHEMAS.format(model=model.__name__)},
    }


def document(version: str) -> dict[str, Any]:
    models: list[type[BaseModel]] = [ConnectAuth, ErrorAck]
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    channel = {"$ref": f"#/channels/{_CHANNEL}"}
    security = [{"$ref": "#/components/securitySchemes/accessToken"}]

    def message_ref(key: str) -> dict[str, str]:
        return {"$ref": f"#/channels/{_CHANNEL}/messages/{key}"}

    messages["error"] = _message("ack", "A failed event's ack.", ErrorAck)
    for client in CLIENT_EVENTS:
        key = _key(client.name)
        messages[key] = _message(client.name, client.summary, client.payload)
        messages[f"{key}Ack"] = _message(f"{client.name} ack", "Its ack.", client.ack)
        models += [client.payload, client.ack]
        operations[client.operation] = {
            "action": "receive",
            "channel": channel,
            "security": security,
            "summary": client.summary,
            "messages": [message_ref(key)],
            "reply": {
                "channel": channel,
                "messages": [message_ref(f"{key}Ack"), message_ref("error")],
            },
        }
    for server in SERVER_EVENTS:
        key = f"{_key(server.name)}Event"
        messages[key] = _message(server.name, server.summary, server.payload)
        models.append(server.payload)
        operations[server.operation] = {
            "action": "send",
            "channel": channel,
            "security": security,
            "summary": server.summary,
            "messages": [message_ref(key)],
        }

    unique = list(dict.fromkeys(models))
    _, schemas = models_json_schema([(m, "serialization") for m in unique], ref_template=_SCHEMAS)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "FlowHub realtime",
            "version": version,
            "description": (
                "Socket.IO v4 (Engine.IO v4) at `/socket.io`, namespace `/`. Connect with "
                "`io(URL, {auth: {token: <access_token>}})` (`ConnectAuth`); a bad token gets "
                "`connect_error` with message `unauthorized`. Every client event is sent with "
                "an ack and answered `{ok: true, ...}` or `ErrorAck`. After a reconnect, catch "
                "up with `GET /api/v1/chat/rooms/{id}/messages?after=<last seq>`. The HTTP API "
                "is at /openapi.json."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "flowhub": {
                "host": "localhost:4000",
                "pathname": PATH,
                "protocol": "ws",
                "description": "This server (`make run`): Socket.IO beside the HTTP API.",
                "security": security,
            }
        },
        "channels": {
            _CHANNEL: {
                "address": NAMESPACE,
                "title": "The default namespace",
                "description": "Every chat event of the signed-in user's rooms.",
                "messages": {k: {"$ref": f"#/components/messages/{k}"} for k in messages},
            }
        },
        "operations": operations,
        "components": {
            "messages": messages,
            "securitySchemes": {
                "accessToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The access token, sent as the Socket.IO auth payload "
                    "`{token}` (`ConnectAuth`), not as a header.",
                }
            },
            "schemas": dict(sorted(schemas.get("$defs", {}).items())),
        },
    }


@blueprint.get("/asyncapi.json")
@hide
async def asyncapi() -> Response:
    """The Socket.IO contract (AsyncAPI 3.0)."""
    return jsonify(document(container().settings().version))
