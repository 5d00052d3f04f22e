"""BASELINE: the smallest app of FlowHub's stack, to tell the stack's cost from FlowHub's own.

Quart + QuartSchema behind python-socketio's ASGIApp, one `GET /health` and the bench routes
(bench/echo.py). Serve it with `uvicorn bench.baseline_app:create_app --factory`.
"""

from __future__ import annotations

import time

import socketio
from quart import Quart
from quart_schema import QuartSchema

from bench.echo import echo_blueprint, mark_lifespan

_STARTED = time.monotonic()


def create_app() -> socketio.ASGIApp:
    app = Quart("baseline")
    QuartSchema(app)

    @app.get("/health")
    async def health() -> dict[str, object]:
        return {
            "status": "ok",
            "version": "baseline",
            "uptime_s": round(time.monotonic() - _STARTED, 3),
        }

    app.register_blueprint(echo_blueprint(), url_prefix="/api/v1")
    mark_lifespan(app)

    sio = socketio.AsyncServer(
        async_mode="asgi",
        cors_allowed_origins="*",
        transports=["websocket", "polling"],
        ping_interval=20,
        ping_timeout=20,
        max_http_buffer_size=64 * 1024,
        logger=False,
        engineio_logger=False,
    )
    # No on_startup/on_shutdown: ASGIApp then forwards the lifespan to Quart.
    return socketio.ASGIApp(sio, other_asgi_app=app, socketio_path="socket.io")
