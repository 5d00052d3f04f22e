"""The real app, served as production serves it (entrypoints.server), with one test knob:
`E2E_ACCESS_TOKEN_TTL_S` shortens the access tokens' lifetime so that a browser test sees one
expire and the client renew it. FlowHub has no setting for that TTL (15 minutes); the test
overrides the container's token codec, as tests override any provider.

Run as `python -m tests.e2e.server_app`; the environment configures it like the real app.
"""

from __future__ import annotations

import os

from dependency_injector import providers

from adapters.jwt.access_tokens import JwtAccessTokenCodec
from config.container import build_container
from config.settings import load_settings
from entrypoints.asgi import create_app
from entrypoints.server import configure_logging, serve

if __name__ == "__main__":
    settings = load_settings(os.environ)
    configure_logging(settings)
    container = build_container(settings)
    ttl = os.environ.get("E2E_ACCESS_TOKEN_TTL_S")
    if ttl:
        codec = JwtAccessTokenCodec(settings.jwt_secret, ttl_s=int(ttl))
        container.adapters.tokens.override(providers.Object(codec))
    serve(create_app(settings, container), settings, host="127.0.0.1")
