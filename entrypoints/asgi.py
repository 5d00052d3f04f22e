"""The one ASGI application a server runs: Socket.IO at /socket.io, Quart for everything else.

Nothing is built at import time: servers call `create_app()` (uvicorn's `--factory`).
"""

from __future__ import annotations

import os

import socketio
from quart import Blueprint

from config.container import Container, build_container
from config.settings import Settings, load_settings
from entrypoints.client_address import ClientAddress
from entrypoints.health_probe import HealthProbe
from entrypoints.http.app import create_http_app
from entrypoints.http.shedding import InFlightLimit
from entrypoints.realtime.server import create_realtime_server, start_realtime, stop_realtime


def create_app(
    settings: Settings | None = None,
    container: Container | None = None,
    extra_blueprints: list[Blueprint] | None = None,
) -> HealthProbe:
    settings = settings or load_settings(os.environ)
    container = container or build_container(settings)
    http_app = create_http_app(container, extra_blueprints)
    sio = create_realtime_server(container)

    @http_app.before_serving
    async def start_cluster() -> None:
        await start_realtime(sio)

    @http_app.after_serving
    async def stop_cluster() -> None:
        await stop_realtime(sio)

    # No on_startup/on_shutdown here: ASGIApp forwards lifespan to Quart only while both are unset,
    # and Quart's before_serving/after_serving open and close the clients.
    # Plain HTTP past MAX_IN_FLIGHT_REQUESTS at once is answered 503 at once (load shedding);
    # Socket.IO is not counted.
    limited = InFlightLimit(
        http_app,
        settings.max_in_flight_requests,
        cors_origins=settings.cors_origins,
        per_client=settings.max_in_flight_per_client or None,
    )
    served = socketio.ASGIApp(sio, other_asgi_app=limited, socketio_path="socket.io")
    # The platform's probe is answered before the shedder and the frameworks: it must answer when
    # the app is busiest (entrypoints/health_probe.py).
    return HealthProbe(
        ClientAddress(served, settings.trusted_proxy), settings.version, settings.origins
    )
