"""The session in the browser against a server whose access tokens live 2 seconds: the client
renews them with the rotating refresh token (HTTP calls and the socket's reconnect alike), and
a session revoked on the server ends in the page with a sentence, not a broken page."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Browsing, Shots
from tests.e2e.helpers import create_room, messages, send, sign_up
from tests.support.processes import ServerProcess, running_server

pytestmark = pytest.mark.e2e

ACCESS_TTL_S = 2


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {"APP_ENV": "development", "E2E_ACCESS_TOKEN_TTL_S": str(ACCESS_TTL_S)}
    with running_server("tests.e2e.server_app", env=env) as process:
        yield process


def stored_session(page: Page) -> dict[str, str]:
    raw = page.evaluate("() => localStorage.getItem('flowhub.session')")
    assert raw, "no session in localStorage"
    session: dict[str, str] = json.loads(raw)
    return session


def wait_for_expiry() -> None:
    time.sleep(ACCESS_TTL_S + 0.2)


def test_an_expired_access_token_is_renewed_and_a_revoked_session_ends_cleanly(
    browsing: Browsing, shots: Shots
) -> None:
    page, watch = browsing.page()
    sign_up(page, browsing.server, "Rita", "rita@example.com")
    first = stored_session(page)

    wait_for_expiry()
    page.get_by_label("Upload through the API").set_input_files(
        {"name": "late.txt", "mimeType": "text/plain", "buffer": b"after the token expired"}
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#file-list tr")).to_contain_text("late.txt")
    expect(page.locator("#token-status")).to_contain_text("renewed at")
    # renewed before the upload (the socket renews its token at half its life) or at the
    # upload's one 401, then sent again
    files_url = f"{browsing.server.url}/api/v1/files"
    assert watch.api_errors.count((401, files_url)) <= 1
    second = stored_session(page)
    assert second["access_token"] != first["access_token"]  # ...and replaced
    assert second["refresh_token"] != first["refresh_token"]  # rotated, stored
    shots(page, "renewed")

    # signed out everywhere from elsewhere: the page's socket is ended at once, its renewal is
    # refused, and the page says so without a click
    assert log_out_everywhere(browsing.server, stored_session(page)["access_token"]) == 204
    expect(page.locator("#auth")).to_be_visible(timeout=3_000)
    expect(page.locator("#notices")).to_contain_text("Your session has ended. Please log in again.")
    expect(page.locator("#notices .notice.error")).to_have_count(0)  # said once, plainly
    assert stored_session_or_none(page) is None
    shots(page, "session-ended")


def log_out_everywhere(server: ServerProcess, access_token: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(
            "POST", "/api/v1/auth/logout-all", headers={"Authorization": f"Bearer {access_token}"}
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def stored_session_or_none(page: Page) -> object:
    return page.evaluate("() => localStorage.getItem('flowhub.session')")


def test_a_reconnect_after_the_token_expired_renews_it_and_catches_up(
    browsing: Browsing, shots: Shots
) -> None:
    page, watch = browsing.page()
    sign_up(page, browsing.server, "Sam", "sam@example.com")
    create_room(page, "Echo", simulated=True)
    send(page, "one")
    expect(page.locator("#message-list li.message")).to_have_count(2)

    watch.go_offline(page)
    expect(page.locator("#connection")).to_have_text("reconnecting…", timeout=15_000)
    wait_for_expiry()  # the socket must present a fresh token to get back in
    send(page, "two")  # waits in the outbox, goes out on reconnect; the peer answers it
    watch.go_offline(page, False)
    expect(page.locator("#connection")).to_have_text("connected", timeout=15_000)
    expect(page.locator("#message-list li.message:not(.pending)")).to_have_count(4)
    assert messages(page)[0] == "one"
    assert messages(page)[2] == "two"
    expect(page.locator("#token-status")).to_contain_text("renewed at")
    shots(page, "reconnected")
