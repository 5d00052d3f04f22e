"""The Socket.IO server, mounted beside Quart in the one ASGI application."""

from __future__ import annotations

from typing import Any

import socketio

from config.settings import Settings


def create_realtime_server(settings: Settings) -> socketio.AsyncServer:
    origins: str | list[str] = "*" if "*" in settings.cors_origins else list(settings.cors_origins)
    sio = socketio.AsyncServer(
        async_mode="asgi",
        cors_allowed_origins=origins,
        cors_credentials=False,  # bearer tokens, no cookies
        transports=["websocket", "polling"],
        ping_interval=20,
        ping_timeout=20,
        max_http_buffer_size=64 * 1024,
        logger=False,
        engineio_logger=False,
    )

    async def connect(sid: str, environ: dict[str, Any], auth: object) -> None:
        # Access tokens are verified here once auth lands (issue 3); until then no socket can
        # prove who it is, so every connection is refused the way the contract says.
        raise socketio.exceptions.ConnectionRefusedError("unauthorized")

    sio.on("connect", connect)
    return sio
