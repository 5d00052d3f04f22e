"""The admin console at /admin in Chromium (README "Administration"), on a server whose
ADMIN_EMAILS names one account: the administrator searches a user, disables them (their login
is refused), enables them, ends their sessions and deletes them after a confirmation; the
gauges and the mail rates render, the 80% warning shows; at desktop and phone widths, with no
horizontal scroll at 375 px. Anyone else who signs in there sees "Not found" and nothing else."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, Browsing, Shots
from tests.e2e.helpers import PASSWORD, mailbox_code
from tests.support.processes import ServerProcess, http_json, running_server

pytestmark = pytest.mark.e2e

ROOT = "root@example.com"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {
        "APP_ENV": "development",
        "ADMIN_EMAILS": ROOT,
        # a MongoDB gauge over its limit: the page must show the 80% warning
        "MONGODB_STORAGE_LIMIT_BYTES": "1",
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with running_server("tests.e2e.server_app", env=env, log_dir=ARTIFACTS) as process:
        signed_up(process, ROOT, "Root")
        yield process


def signed_up(server: ServerProcess, email: str, name: str) -> str:
    """A verified account through the API; its id."""
    status, body = http_json(
        server.port,
        "POST",
        "/api/v1/auth/signup",
        {"email": email, "password": PASSWORD, "name": name},
    )
    assert status == 202, body
    code = mailbox_code(server, email)
    status, body = http_json(
        server.port, "POST", "/api/v1/auth/verify-email", {"email": email, "code": code}
    )
    assert status == 200, body
    user_id: str = body["user"]["id"]
    return user_id


def login(server: ServerProcess, email: str) -> tuple[int, dict[str, object]]:
    status, body = http_json(
        server.port, "POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD}
    )
    return status, body


def sign_in(page: Page, email: str) -> None:
    """Sign in on /admin with the keyboard only."""
    response = page.goto("/admin")
    assert response is not None and response.status == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    form = page.locator("#signin-form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_label("Password").press("Enter")


def no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths


@pytest.mark.parametrize(
    ("viewport", "mobile", "who"),
    [((1280, 900), False, "desk"), ((375, 740), True, "phone")],
    ids=["desktop", "phone"],
)
def test_an_administrator_searches_disables_ends_sessions_and_deletes(
    browsing: Browsing, shots: Shots, viewport: tuple[int, int], mobile: bool, who: str
) -> None:
    server = browsing.server
    email = f"ada.{who}@example.com"
    ada_id = signed_up(server, email, f"Ada {who}")
    signed_up(server, f"bob.{who}@example.com", f"Bob {who}")
    page, _ = browsing.page(viewport=viewport, mobile=mobile)
    sign_in(page, ROOT)
    expect(page.locator("#console")).to_be_visible()
    expect(page.locator("#me-email")).to_have_text(ROOT)

    # the gauges: every free tier with its meter, the MongoDB one over 80% and saying so
    gauges = page.locator("#gauge-list li")
    expect(gauges).to_have_count(6)
    redis = page.locator("[data-gauge=redis_commands_month]")
    expect(redis).to_contain_text("Redis commands this month")
    expect(redis).to_contain_text("of 500,000 commands")
    expect(redis).to_contain_text("projected to the month's end")
    mongo = page.locator("[data-gauge=mongodb_storage]")
    expect(mongo).to_contain_text("Warning: 80 % or more")
    expect(page.locator("[data-gauge=s3_storage]")).not_to_contain_text("Warning")
    expect(page.locator("#gauge-list meter")).to_have_count(6)
    logs = page.locator("[data-gauge=log_bytes_today]")  # no Logtail here: 0 of its limit
    expect(logs).to_contain_text("Logtail bytes today")
    expect(logs).to_contain_text("(0.0 %)")
    expect(page.locator("[data-rate=bounce]")).to_contain_text("0.00 %")
    expect(page.locator("#mail-totals")).to_contain_text("mails sent")
    expect(page.locator("#rooms-count")).to_contain_text("rooms.")
    expect(page.locator("#files-count")).to_contain_text("files,")
    shots(page, "console")
    no_horizontal_scroll(page)

    # search, keyboard only
    search = page.get_by_label("Email beginning or part of a name")
    search.fill(f"ada.{who}")
    search.press("Enter")
    card = page.locator(f"[data-user-id='{ada_id}']")
    expect(page.locator("#user-list li")).to_have_count(1)
    expect(card).to_contain_text(email)
    expect(card).to_contain_text("1 session")

    # disable: the account's login is refused after the right password
    card.get_by_role("button", name="Disable").focus()
    page.keyboard.press("Enter")
    expect(card.locator(".pill")).to_have_text("disabled")
    expect(card).to_contain_text("0 sessions")  # disabling ended its session
    status, body = login(server, email)
    assert (status, body["error"]["code"]) == (403, "account_disabled"), body  # type: ignore[index]
    shots(page, "disabled")

    card.get_by_role("button", name="Enable").click()
    expect(card.locator(".pill")).to_have_text("active")
    for _ in range(2):
        status, _ = login(server, email)
        assert status == 200
    page.get_by_role("button", name="Refresh").click()
    search.press("Enter")
    expect(card).to_contain_text("2 sessions")

    card.get_by_role("button", name="End sessions").click()
    expect(card).to_contain_text("0 sessions")
    expect(page.locator("#notice")).to_contain_text("signed out everywhere")

    # delete: nothing happens before the confirmation; Escape backs out
    card.get_by_role("button", name="Delete…").click()
    confirm = card.locator(".confirm")
    expect(confirm).to_contain_text(f"Delete {email}")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    no_horizontal_scroll(page)
    shots(page, "confirm")
    page.keyboard.press("Escape")
    expect(confirm).to_have_count(0)
    assert login(server, email)[0] == 200
    card.get_by_role("button", name="Delete…").click()
    card.get_by_role("button", name="Delete for good").click()
    expect(page.locator("#users-summary")).to_contain_text("No account matches")
    expect(page.locator("#notice")).to_contain_text(f"{email}: deleted")
    status, body = login(server, email)
    assert (status, body["error"]["code"]) == (401, "invalid_credentials"), body  # type: ignore[index]

    # pages: one account a page is not what the console asks for, but every page is reachable
    search.fill("")
    search.press("Enter")
    expect(page.locator("#users-summary")).to_contain_text("Showing 1–")
    expect(page.get_by_role("button", name="Previous")).to_be_disabled()
    no_horizontal_scroll(page)
    shots(page, "everyone")


def test_anyone_else_sees_not_found(browsing: Browsing, shots: Shots) -> None:
    server = browsing.server
    signed_up(server, "carl@example.com", "Carl")
    page, watch = browsing.page(viewport=(375, 740), mobile=True)
    sign_in(page, "carl@example.com")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.locator("#console")).to_be_hidden()
    expect(page.locator("#account")).to_be_hidden()
    assert page.locator("#user-list li").count() == 0
    assert page.locator("#gauge-list li").count() == 0
    admin_calls = [(s, u) for s, u in watch.api_errors if "/api/v1/admin/" in u]
    assert admin_calls and all(s == 404 for s, _ in admin_calls)
    # the page keeps no session of a non-administrator
    assert page.evaluate("() => sessionStorage.getItem('flowhub.admin.session')") is None
    no_horizontal_scroll(page)
    shots(page, "not-found")


@pytest.fixture(scope="module")
def short_lived() -> Iterator[ServerProcess]:
    """Access tokens of 2 s: the admin API's 404 to an expired token must end in a renewal."""
    env = {"APP_ENV": "development", "ADMIN_EMAILS": ROOT, "E2E_ACCESS_TOKEN_TTL_S": "2"}
    with running_server("tests.e2e.server_app", env=env, log_dir=ARTIFACTS) as process:
        signed_up(process, ROOT, "Root")
        yield process


def test_an_expired_token_is_renewed_not_taken_for_a_stranger(
    browsing: Browsing, short_lived: ServerProcess
) -> None:
    dora_id = signed_up(short_lived, "dora@example.com", "Dora")
    page, watch = browsing.page(server=short_lived)
    sign_in(page, ROOT)
    expect(page.locator("#gauge-list li")).to_have_count(6)
    first = page.evaluate("() => sessionStorage.getItem('flowhub.admin.session')")
    page.wait_for_timeout(2_500)
    page.get_by_label("Email beginning or part of a name").fill("dora")
    page.get_by_label("Email beginning or part of a name").press("Enter")
    card = page.locator(f"[data-user-id='{dora_id}']")
    card.get_by_role("button", name="Disable").click()
    expect(card.locator(".pill")).to_have_text("disabled")
    expect(page.locator("#console")).to_be_visible()
    expect(page.get_by_role("heading", name="Not found")).to_be_hidden()
    # the expired token was refused (404, as to anyone) and the page renewed it
    assert any(s == 404 and "/api/v1/admin/" in u for s, u in watch.api_errors)
    assert page.evaluate("() => sessionStorage.getItem('flowhub.admin.session')") != first
