"""The real app, without the test-only routes, served as production serves it, for the fuzzer.

Run as `python -m tests.support.fuzz_app`; the environment configures it like the real app.
One thing differs: the per-user API quota (120 requests a minute) and the chat send quota are
lifted, so that the fuzzer's thousands of requests with one token reach the handlers instead of
all answering 429 after the first minute's worth (the quotas have their own tests). The per-IP
signup and login limits stay: their 429s are part of what the fuzzer checks.
"""

from __future__ import annotations

import os
from typing import Any, cast

from dependency_injector import providers

from config.container import build_container
from config.settings import load_settings
from domain.auth.policy import AuthPolicy
from domain.chat.service import ChatPolicy
from entrypoints.asgi import create_app
from entrypoints.server import configure_logging, serve

UNLIMITED = 1_000_000

if __name__ == "__main__":
    settings = load_settings(os.environ)
    configure_logging(settings)
    container = build_container(settings)
    container.services.auth_policy.override(
        providers.Object(AuthPolicy(api_requests_per_minute=UNLIMITED))
    )
    chat = cast(providers.Singleton[Any], container.services.chat)
    chat.add_kwargs(policy=ChatPolicy(messages_per_window=UNLIMITED))
    serve(create_app(settings, container), settings, host="127.0.0.1")
