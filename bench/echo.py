"""The routes both benchmark apps serve beside `GET /health`.

- `POST /api/v1/bench/echo`: an authenticated-shaped JSON route (bearer token header, ~200-byte
  JSON body validated by quart-schema + pydantic, JSON answer). Nothing checks the token yet.
- `GET /api/v1/bench/state`: whether Quart's `before_serving` ran (so the ASGI server really drove
  the lifespan) and which service clients are open.

The blueprint has no prefix of its own: FlowHub nests it in its `/api/v1` blueprint, the baseline
registers it at `/api/v1`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from pydantic import BaseModel, Field
from quart import Blueprint, Quart, current_app
from quart_schema import validate_request

ECHO_PATH = "/api/v1/bench/echo"
STATE_PATH = "/api/v1/bench/state"
BEARER = "Bearer bench.dummy.token"

# ~200 bytes once serialised; bench/echo.lua sends the same body (via BENCH_ECHO_BODY).
ECHO_PAYLOAD: dict[str, object] = {
    "room_id": "room_8f14e45fceea167a5a36dedd",
    "client_message_id": "c2a7d4a0-5b1e-4c1b-9e0e-3f7a1b2c4d5e",
    "text": "Benchmark message: the quick brown fox jumps over the lazy dog twice.",
    "mentions": ["user_17", "user_42"],
}
ECHO_BODY = json.dumps(ECHO_PAYLOAD, separators=(",", ":"))

_LIFESPAN_KEY = "bench.before_serving"

type ClientStates = Callable[[], Mapping[str, bool | None]]


class EchoBody(BaseModel):
    room_id: str = Field(min_length=1, max_length=64)
    client_message_id: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=4000)
    mentions: list[str] = Field(default_factory=list, max_length=50)


def echo_blueprint(client_states: ClientStates | None = None) -> Blueprint:
    blueprint = Blueprint("bench", __name__)

    @blueprint.post("/bench/echo")
    @validate_request(EchoBody)
    async def echo(data: EchoBody) -> dict[str, object]:
        return data.model_dump()

    @blueprint.get("/bench/state")
    async def state() -> dict[str, object]:
        clients = dict(client_states()) if client_states is not None else {}
        return {
            "before_serving": bool(current_app.extensions.get(_LIFESPAN_KEY)),
            "clients": clients,
        }

    return blueprint


def mark_lifespan(app: Quart) -> None:
    """Record that `before_serving` ran. Registered after the app's own hooks, so when this one
    ran, every earlier one (FlowHub's client warm-up included) ran too."""

    @app.before_serving
    async def started() -> None:
        app.extensions[_LIFESPAN_KEY] = True
