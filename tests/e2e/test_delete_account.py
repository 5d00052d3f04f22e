"""Deleting one's account on the reference client: a wrong password is refused with the API's
sentence; the right one (or an emailed code) deletes it and signs the page out; the password no
longer signs in, and the address is free for a new sign-up."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Browsing, Shots
from tests.e2e.helpers import PASSWORD, create_room, mailbox_code, send, sign_up

pytestmark = pytest.mark.e2e


def deleted(page: Page) -> None:
    expect(page.locator("#auth")).to_be_visible()
    expect(page.locator("#notices")).to_contain_text(
        "Your account and everything in it are deleted"
    )
    expect(page.locator("#notices")).not_to_contain_text("Your session has ended")
    assert page.evaluate("() => localStorage.getItem('flowhub.session')") is None
    expect(page.locator("#security")).to_be_hidden()


def test_delete_with_the_password(browsing: Browsing, shots: Shots) -> None:
    page, watch = browsing.page()
    email = "zed-delete@example.com"
    sign_up(page, browsing.server, "Zed", email)
    create_room(page, "Short-lived", simulated=True)
    send(page, "soon gone")
    zone = page.locator("#delete-account-form")
    zone.get_by_label("Your password").fill("not my password at all")
    zone.get_by_label("I understand this cannot be undone").check()
    me_url = f"{browsing.server.url}/api/v1/users/me"
    with page.expect_response(
        lambda r: r.url == me_url and r.request.method == "DELETE"
    ) as refused:
        zone.get_by_label("Your password").press("Enter")
    assert refused.value.status == 401
    expect(page.locator("#notices .notice.error")).to_have_count(1)
    expect(page.locator("#me-name")).to_have_text("Zed")  # still here
    shots(page, "refused")
    zone.get_by_label("Your password").fill(PASSWORD)
    zone.get_by_label("Your password").press("Enter")
    deleted(page)
    shots(page, "deleted")
    assert (401, me_url) in watch.api_errors

    page.get_by_role("tab", name="Log in", exact=True).click()
    login = page.locator("#login-form")
    login.get_by_label("Email").fill(email)
    login.get_by_label("Password").fill(PASSWORD)
    login.get_by_label("Password").press("Enter")
    expect(page.locator("#notices .notice.error")).to_have_count(1)
    expect(page.locator("#auth")).to_be_visible()


def test_delete_with_an_emailed_code_frees_the_address(browsing: Browsing) -> None:
    page, _ = browsing.page(viewport=(390, 844), mobile=True)
    email = "yan-delete@example.com"
    sign_up(page, browsing.server, "Yan", email)
    page.get_by_role("button", name="Email me a code").click()
    code_box = page.locator("#delete-account-form").get_by_label("Code from the email")
    expect(code_box).to_be_focused()
    # the development mailbox offers it too: "Use this code" fills the box
    page.locator("#mailbox-list").get_by_role("button", name="Use this code").first.click()
    expect(code_box).to_have_value(mailbox_code(browsing.server, email))
    page.locator("#delete-account-form").get_by_label("I understand this cannot be undone").check()
    page.get_by_role("button", name="Delete my account").click()
    deleted(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    sign_up(page, browsing.server, "Yan again", email)  # the email is free
    expect(page.locator("#me-name")).to_have_text("Yan again")
