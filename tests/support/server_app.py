"""The real app plus the test routes, served exactly as production serves it (entrypoints.server).

Run as `python -m tests.support.server_app`; the environment configures it like the real app.
"""

from __future__ import annotations

import os

from config.settings import load_settings
from entrypoints.asgi import create_app
from entrypoints.server import configure_logging, serve
from tests.support.routes import blueprint

if __name__ == "__main__":
    settings = load_settings(os.environ)
    configure_logging(settings)
    serve(create_app(settings, extra_blueprints=[blueprint]), settings, host="127.0.0.1")
