"""Two-factor sign-in on the reference client: set up an authenticator app from the Security
panel (its key read off the page, the codes computed here as the app would), then sign in
through the challenge with a code, and again with a recovery code; turn it off."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Browsing, Shots
from tests.e2e.helpers import PASSWORD, sign_up

pytestmark = pytest.mark.e2e


def totp_code(secret: str, ahead: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(datetime.now(UTC)) + ahead)


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#auth")).to_be_visible()


def log_in(page: Page, email: str) -> None:
    page.get_by_role("tab", name="Log in", exact=True).click()
    form = page.locator("#login-form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_label("Password").press("Enter")


def test_set_up_then_sign_in_with_a_code_and_with_a_recovery_code(
    browsing: Browsing, shots: Shots
) -> None:
    page, watch = browsing.page()
    email = "tess-mfa@example.com"
    sign_up(page, browsing.server, "Tess", email)
    security = page.locator("#security")
    expect(security.locator("#totp-status")).to_contain_text("off")
    security.get_by_role("button", name="Set up an authenticator app").click()
    expect(security.locator("#totp-uri")).to_contain_text("otpauth://totp/")
    secret = security.locator("#totp-secret").inner_text()
    assert f"secret={secret}" in security.locator("#totp-uri").inner_text()
    # the code box has the focus: the keyboard alone confirms
    expect(security.get_by_label("Code from the app", exact=True)).to_be_focused()
    page.keyboard.type(totp_code(secret))
    page.keyboard.press("Enter")
    codes = security.locator("#totp-code-list li")
    expect(codes).to_have_count(10)
    recovery = codes.all_inner_texts()
    expect(security.locator("#totp-status")).to_contain_text("on (10 recovery codes left)")
    expect(security.locator("#totp-secret")).to_have_text("")  # the key leaves the page
    shots(page, "enrolled")
    security.get_by_role("button", name="I have saved them").click()
    expect(codes).to_have_count(0)

    # a password alone no longer signs in: the page asks for the second factor
    log_out(page)
    log_in(page, email)
    challenge = page.locator("#mfa-form")
    expect(challenge).to_be_visible()
    expect(page.locator("#login-form")).to_be_hidden()
    expect(challenge.get_by_label("Authentication code")).to_be_focused()
    window = {totp_code(secret, step) for step in (-1, 0, 1, 2)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in window)
    challenge.get_by_label("Authentication code").fill(wrong)
    challenge.get_by_label("Authentication code").press("Enter")
    expect(page.locator("#notices .notice.error")).to_have_count(1)  # wrong: asked again
    expect(challenge).to_be_visible()
    shots(page, "challenge")
    # the confirming step is spent: the app's next code signs in
    challenge.get_by_label("Authentication code").fill(totp_code(secret, ahead=1))
    challenge.get_by_label("Authentication code").press("Enter")
    expect(page.locator("#me-name")).to_have_text("Tess")
    expect(challenge).to_be_hidden()
    expect(page.locator("#connection")).to_have_text("connected")

    # a recovery code instead of the app, once
    log_out(page)
    log_in(page, email)
    challenge.get_by_label("Authentication code").fill(recovery[0])
    challenge.get_by_label("Authentication code").press("Enter")
    expect(page.locator("#me-name")).to_have_text("Tess")
    expect(security.locator("#totp-status")).to_contain_text("on (9 recovery codes left)")

    # turned off with the password: a login answers tokens again
    off = security.locator("#totp-disable-form")
    off.get_by_label("or your password").fill(PASSWORD)
    off.get_by_label("or your password").press("Enter")
    expect(security.locator("#totp-status")).to_contain_text("off")
    log_out(page)
    log_in(page, email)
    expect(page.locator("#me-name")).to_have_text("Tess")
    assert (400, f"{browsing.server.url}/api/v1/auth/mfa") in watch.api_errors
    shots(page, "off")


def test_the_challenge_fits_a_phone(browsing: Browsing, shots: Shots) -> None:
    page, _ = browsing.page(viewport=(390, 844), mobile=True)
    email = "tess-phone@example.com"
    sign_up(page, browsing.server, "Tess", email)
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.locator("#totp-uri")).to_contain_text("otpauth://")
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= 390, wide
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from the app", exact=True).fill(totp_code(secret))
    page.get_by_label("Code from the app", exact=True).press("Enter")
    expect(page.locator("#totp-code-list li")).to_have_count(10)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    shots(page, "codes-on-a-phone")
