"""Sign in with a provider through Chromium: the reference page's "Sign in with local" link, the
local OpenID provider's login and consent pages (tests/oidc/provider.mjs), back to the page
signed in; then the same person again lands in the same account."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, Browsing, Shots
from tests.support.node_tools import node
from tests.support.processes import (
    ROOT,
    ServerProcess,
    free_port,
    server_env,
    wait_until_healthy,
)

pytestmark = pytest.mark.e2e

OIDC = ROOT / "tests" / "oidc"
CLIENT_ID = "flowhub-e2e"
CLIENT_SECRET = "a-client-secret-for-the-local-provider-only"


@pytest.fixture(scope="module")
def federated_server() -> Iterator[ServerProcess]:
    """A FlowHub server whose OpenID provider (named `local`) runs beside it on loopback."""
    if not (OIDC / "node_modules" / ".installed").exists():
        pytest.fail("tests/oidc's oidc-provider is missing: run `make services`")
    port, provider_port = free_port(), free_port()
    callback = f"http://127.0.0.1:{port}/api/v1/auth/oauth/local/callback"
    provider = subprocess.Popen(
        [node(), "provider.mjs", str(provider_port), CLIENT_ID, CLIENT_SECRET, callback],
        cwd=OIDC,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert provider.stdout is not None
        issuer = provider.stdout.readline().split()[1]
        env = {
            "APP_ENV": "development",
            "CORS_ORIGINS": f"http://127.0.0.1:{port}",
            "OIDC_ISSUER": issuer,
            "OIDC_NAME": "local",
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        }
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        server = ServerProcess(
            [sys.executable, "-m", "tests.e2e.server_app"],
            env=server_env(env, port),
            port=port,
            log_path=ARTIFACTS / f"flowhub-federated-{port}.log",
            name="flowhub",
        )
        try:
            wait_until_healthy(server)
            yield server
        finally:
            server.stop()
    finally:
        provider.terminate()
        provider.wait(timeout=10)


def test_a_person_signs_in_with_the_provider_and_again_as_the_same_account(
    browsing: Browsing, federated_server: ServerProcess, shots: Shots
) -> None:
    page, watch = browsing.page(server=federated_server)
    # the provider's development pages link a web font: nothing leaves loopback
    page.context.route(
        re.compile(r"^https?://(?!127\.0\.0\.1[:/])"),
        lambda route: route.fulfill(status=200, body="", content_type="text/css"),
    )
    page.goto("/")
    page.locator("#tab-login").click()
    link = page.get_by_role("link", name="Sign in with local")
    expect(link).to_be_visible()
    shots(page, "sign-in-form-with-provider")
    user_ids = []
    for attempt in range(2):
        page.locator("#tab-login").click()
        link.click()
        if attempt == 0:  # the second time, the provider remembers the person and the consent
            page.locator("input[name=login]").fill("e2e-person")
            page.locator("input[name=password]").fill("anything")
            shots(page, "provider-login")
            page.locator("button[type=submit]").click()
            page.locator("button[type=submit]").first.click()  # the consent page
        expect(page.locator("#me-name")).to_have_text("e2e-person")
        shots(page, "signed-in")
        assert "code=" not in page.url  # the one-time code left the address bar
        session = "JSON.parse(localStorage.getItem('flowhub.session')).user.id"
        user_ids.append(page.evaluate(session))
        page.evaluate("localStorage.clear()")
        page.goto("/")
    assert user_ids[0] == user_ids[1]
    watch.check()
