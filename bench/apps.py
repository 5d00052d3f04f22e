"""FlowHub as the benchmark serves it: the real settings, container, HTTP app and Socket.IO server,
plus the bench routes (bench/echo.py) under /api/v1, mounted the way entrypoints/asgi.py mounts it.

The shape (development or production adapters) comes from the environment, exactly as in
production. Serve it with `uvicorn bench.apps:create_flowhub_app --factory`.
"""

from __future__ import annotations

import os

from bench.echo import echo_blueprint, mark_lifespan
from config.container import build_container
from config.settings import load_settings
from entrypoints.asgi import create_app
from entrypoints.client_address import ClientAddress
from entrypoints.health_probe import HealthProbe


def create_flowhub_app() -> HealthProbe:
    # imported here, after `entrypoints` (above): as in production, socketio is then the lean one
    # without its client stack (entrypoints/lean_imports.py)
    import socketio

    settings = load_settings(os.environ)
    container = build_container(settings)

    def client_states() -> dict[str, bool | None]:
        """Which service clients are open (`None`: not configured, in-memory adapter)."""
        clients = {
            "mongo": container.clients.mongo(),
            "redis": container.clients.redis(),
            "s3": container.clients.s3(),
            "ses": container.clients.ses(),
        }
        return {name: None if c is None else bool(c.is_open) for name, c in clients.items()}

    app = create_app(settings, container, extra_blueprints=[echo_blueprint(client_states)])
    # the Quart app inside (behind the health probe, the client address and the in-flight limit),
    # as in production
    addressed = app.app
    assert isinstance(addressed, ClientAddress)
    served = addressed.app
    assert isinstance(served, socketio.ASGIApp)
    mark_lifespan(served.other_asgi_app.app)
    return app
