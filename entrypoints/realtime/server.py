"""The Socket.IO server, mounted beside Quart in the one ASGI application."""

from __future__ import annotations

from typing import Any

import socketio

from config.container import Container
from domain.errors import Unauthorized


def create_realtime_server(container: Container) -> socketio.AsyncServer:
    settings = container.settings()
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
        """Only a valid access token in `auth.token` opens a socket."""
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        adapters = container.adapters
        try:
            claims = adapters.tokens().verify(token, adapters.clock().now())
        except Unauthorized:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized") from None
        await sio.save_session(sid, {"user_id": claims.user_id, "session_id": claims.session_id})

    sio.on("connect", connect)
    return sio
