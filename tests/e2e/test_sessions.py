"""The signed-in devices on the reference client: one person in three browser contexts. Ending
another context's session from the list signs that context out at once (its socket gets
`session:ended`), and "sign out everywhere else" ends all but this one."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Browsing, Shots
from tests.e2e.helpers import PASSWORD, open_client, sign_up

pytestmark = pytest.mark.e2e


def log_in(page: Page, email: str) -> None:
    open_client(page)
    page.get_by_role("tab", name="Log in", exact=True).click()
    form = page.locator("#login-form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_label("Password").press("Enter")
    expect(page.locator("#connection")).to_have_text("connected")


def signed_out(page: Page) -> None:
    expect(page.locator("#auth")).to_be_visible(timeout=5_000)
    expect(page.locator("#notices")).to_contain_text("Your session has ended. Please log in again.")
    assert page.evaluate("() => localStorage.getItem('flowhub.session')") is None


def test_ending_another_devices_session_signs_it_out(browsing: Browsing, shots: Shots) -> None:
    email = "una-sessions@example.com"
    laptop, _ = browsing.page()
    phone, _ = browsing.page(viewport=(390, 844), mobile=True)
    sign_up(laptop, browsing.server, "Una", email)
    log_in(phone, email)

    devices = laptop.locator("#session-list li")
    laptop.get_by_role("button", name="Refresh the list").click()
    expect(devices).to_have_count(2)
    current = laptop.locator("#session-list li", has_text="this device")
    expect(current).to_have_count(1)
    expect(current.get_by_role("button")).to_have_count(0)  # this one ends with Log out
    other = laptop.locator("#session-list li:not(:has(.badge))")
    expect(other).to_contain_text("last active")
    shots(laptop, "two-devices")
    # the phone's own list names it "this device" the other way round
    expect(phone.locator("#session-list li", has_text="this device")).to_have_count(1)
    expect(phone.locator("#session-list li")).to_have_count(2)
    phone_session = phone.locator("#session-list li", has_text="this device").get_attribute(
        "data-session-id"
    )
    assert other.get_attribute("data-session-id") == phone_session

    other.get_by_role("button", name="Sign out").click()
    expect(devices).to_have_count(1)
    expect(laptop.get_by_role("button", name="Refresh the list")).to_be_focused()
    # no click on the phone: its socket hears session:ended, its renewal is refused
    signed_out(phone)
    expect(laptop.locator("#me-name")).to_have_text("Una")
    shots(phone, "phone-signed-out")


def test_sign_out_everywhere_else_keeps_only_this_device(browsing: Browsing, shots: Shots) -> None:
    email = "vic-sessions@example.com"
    here, _ = browsing.page()
    sign_up(here, browsing.server, "Vic", email)
    elsewhere = [browsing.page()[0] for _ in range(2)]
    for page in elsewhere:
        log_in(page, email)
    here.get_by_role("button", name="Refresh the list").click()
    expect(here.locator("#session-list li")).to_have_count(3)
    here.get_by_role("button", name="Sign out everywhere else").click()
    expect(here.locator("#session-list li")).to_have_count(1)
    expect(here.locator("#session-list li")).to_contain_text("this device")
    expect(here.get_by_role("button", name="Sign out everywhere else")).to_be_hidden()
    for page in elsewhere:
        signed_out(page)
    expect(here.locator("#connection")).to_have_text("connected")
    shots(here, "only-this-device")
