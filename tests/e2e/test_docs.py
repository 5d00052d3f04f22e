"""/docs in Chromium with no network but the server: the vendored Swagger UI renders every
operation of /openapi.json under its strict CSP (a violation is a console error, which fails
the test), and nothing is fetched from anywhere else."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Route, expect

from entrypoints.http.web import WEB_ROOT
from tests.e2e.conftest import Browsing, Shots
from tests.support.node_tools import CLIENT, tool

VENDORED = WEB_ROOT / "vendor" / "swagger-ui"


def test_docs_render_offline_under_the_csp(browsing: Browsing, shots: Shots) -> None:
    page, _ = browsing.page()
    origin = browsing.server.url
    elsewhere: list[str] = []

    def only_the_server(route: Route) -> None:
        if route.request.url.startswith(origin):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    page.context.route("**/*", only_the_server)
    page.goto("/docs")
    expect(page.locator("#operations-files-listFiles")).to_be_visible()
    expect(page.locator("#operations-chat-createRoom")).to_be_visible()
    expect(page.locator("#operations-auth-login")).to_be_visible()
    page.locator("#operations-auth-login .opblock-summary").click()
    login = page.locator("#operations-auth-login")
    expect(login.locator(".opblock-body")).to_be_visible()
    expect(login.locator("tr.response[data-code='401']")).to_be_visible()
    shots(page, "docs")
    assert page.locator(".opblock").count() >= 25
    assert elsewhere == []


def test_the_vendored_swagger_ui_is_the_locked_npm_package() -> None:
    package = Path(tool("tsc")).parents[1] / "swagger-ui-dist"  # fails if not installed
    lock = json.loads((CLIENT / "package-lock.json").read_text())
    locked = lock["packages"]["node_modules/swagger-ui-dist"]["version"]
    assert json.loads((package / "package.json").read_text())["version"] == locked
    assert f"swagger-ui-dist {locked}" in (WEB_ROOT / "vendor" / "README.md").read_text()
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"):
        assert (VENDORED / name).read_bytes() == (package / name).read_bytes(), name
