from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping

import pytest
import pytest_asyncio
from quart import Quart
from quart.typing import TestClientProtocol as Client

from config.container import Container, build_container
from config.settings import load_settings
from entrypoints.http.app import create_http_app
from tests.support.routes import blueprint

type AppFactory = Callable[[Mapping[str, str]], tuple[Quart, Container]]


@pytest.fixture
def make_app() -> AppFactory:
    """The real HTTP app, built from an environment, with the test-only routes mounted."""

    def build(env: Mapping[str, str]) -> tuple[Quart, Container]:
        container = build_container(
            load_settings({"APP_ENV": "test", "TRUSTED_PROXY": "fly", **env})
        )
        return create_http_app(container, extra_blueprints=[blueprint]), container

    return build


@pytest_asyncio.fixture
async def client(make_app: AppFactory) -> AsyncIterator[Client]:
    app, _ = make_app({"CORS_ORIGINS": "https://app.flowhub.example"})
    async with app.test_app() as test_app:
        yield test_app.test_client()
