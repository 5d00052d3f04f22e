"""One person's whole journey through the reference client, in one browser: sign up, verify
with the code from the development mailbox, files (through the API and straight to storage,
download, delete), rooms (plain and simulated) and chat, then every other way in: password,
email code, password reset. Errors show as sentences."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Browsing, Shots
from tests.e2e.helpers import (
    PASSWORD,
    create_room,
    messages,
    open_client,
    sees_typing,
    send,
    sign_up,
)

pytestmark = pytest.mark.e2e

# the smallest valid PNG: 1x1, one transparent pixel
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
NOTES = b"FlowHub end-to-end notes\nline two\n"


def expect_notice(page: Page, kind: str, text: str) -> None:
    """A notice of `kind` (error, success, info) saying `text` is on the page."""
    expect(page.locator(f"#notices .notice.{kind}", has_text=text).first).to_be_visible()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#auth")).to_be_visible()
    expect(page.locator("#account")).to_be_hidden()


def test_a_person_signs_up_uses_files_and_chat_and_every_way_to_log_in(
    browsing: Browsing, shots: Shots
) -> None:
    page, watch = browsing.page()
    email = "ada@example.com"

    open_client(page)
    shots(page, "signed-out")

    # a wrong code first: a readable error, not a status code
    page.get_by_role("tab", name="Verify email").click()
    verify = page.locator("#verify-form")
    verify.get_by_label("Email", exact=True).fill("nobody@example.com")
    verify.get_by_label("Code from the email").fill("000000")
    verify.get_by_label("Code from the email").press("Enter")
    expect_notice(page, "error", "The code is not valid. Request a new one if it has expired.")
    shots(page, "wrong-code-error")

    # sign up; the mailbox panel shows the code; "Use this code" puts it in the form
    page.get_by_role("tab", name="Sign up").click()
    signup = page.locator("#signup-form")
    signup.get_by_label("Name").fill("Ada Lovelace")
    signup.get_by_label("Email", exact=True).fill(email)
    signup.get_by_label("Password").fill(PASSWORD)
    signup.get_by_label("Password").press("Enter")
    expect(page.get_by_role("tab", name="Verify email")).to_have_attribute("aria-selected", "true")
    mail = page.locator("#mailbox-list .mail").first
    expect(mail).to_contain_text(re.compile(r"\d{6}"))
    shots(page, "signed-up-mailbox")
    code = mail.locator(".code").inner_text()
    mail.get_by_role("button", name="Use this code").click()
    expect(verify.get_by_label("Code from the email")).to_have_value(code)
    expect(verify.get_by_label("Email", exact=True)).to_have_value(email)
    verify.get_by_label("Code from the email").press("Enter")
    expect(page.locator("#me-name")).to_have_text("Ada Lovelace")
    expect(page.locator("#connection")).to_have_text("connected")
    shots(page, "signed-in")

    # files: through the API, and straight to storage with the presigned form
    page.get_by_label("Upload through the API").set_input_files(
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": NOTES}
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    rows = page.locator("#file-list tr")
    expect(rows.filter(has_text="notes.txt")).to_contain_text("ready")
    page.get_by_label("Upload straight to storage").set_input_files(
        {"name": "pixel.png", "mimeType": "image/png", "buffer": PNG}
    )
    page.get_by_role("button", name="Upload directly").click()
    expect(rows.filter(has_text="pixel.png")).to_contain_text("ready")
    expect_notice(page, "success", "Uploaded pixel.png (67 B) straight to storage.")
    expect(rows).to_have_count(2)
    assert rows.first.inner_text().startswith("pixel.png")  # newest first

    # bytes that are not what their type says: refused, with a sentence
    page.get_by_label("Upload through the API").set_input_files(
        {"name": "fake.png", "mimeType": "image/png", "buffer": b"not a png at all"}
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    expect_notice(page, "error", "The file's content is not what its declared type says.")
    expect(rows).to_have_count(2)
    assert (415, f"{browsing.server.url}/api/v1/files") in watch.api_errors
    shots(page, "files")

    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download notes.txt").click()
    download = downloading.value
    assert download.suggested_filename == "notes.txt"
    with open(download.path(), "rb") as saved:
        assert saved.read() == NOTES

    page.get_by_role("button", name="Delete pixel.png").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("notes.txt")

    # chat: a simulated room answers, with typing first
    create_room(page, "Bot room", simulated=True)
    expect(page.locator("#member-list")).to_contain_text("Simulated peer · online")
    send(page, "hello, peer")
    sees_typing(page, "Simulated peer is typing…")
    shots(page, "peer-typing")
    peer_reply = page.locator("#message-list li.message[data-sender^='peer-']")
    expect(peer_reply).to_have_count(1)
    expect(page.locator("#typing")).to_have_text("")
    assert messages(page)[0] == "hello, peer"
    create_room(page, "Plain room")
    expect(page.locator("#message-list")).to_contain_text("No messages yet")
    send(page, "a note to myself")
    expect(page.locator("#message-list li.message.mine")).to_have_count(1)
    expect(page.locator("#room-list li")).to_have_count(2)
    shots(page, "chat")

    # a reload keeps the session (the refresh token is stored) and the history
    page.reload()
    expect(page.locator("#me-name")).to_have_text("Ada Lovelace")
    page.locator("#room-list").get_by_role("button", name="Bot room").click()
    expect(page.locator("#message-list li.message")).to_have_count(2)

    # log in with the password
    log_out(page)
    login = page.locator("#login-form")
    login.get_by_label("Email", exact=True).fill(email)
    login.get_by_label("Password").fill("not the password")
    login.get_by_label("Password").press("Enter")
    expect_notice(page, "error", "The email or password is not correct.")
    login.get_by_label("Password").fill(PASSWORD)
    login.get_by_label("Password").press("Enter")
    expect(page.locator("#me-name")).to_have_text("Ada Lovelace")
    expect(page.locator("#file-list tr")).to_have_count(1)

    # log in with a code from the email
    log_out(page)
    page.get_by_role("tab", name="Log in with a code").click()
    ask = page.locator("#code-request-form")
    ask.get_by_label("Email", exact=True).fill(email)
    ask.get_by_label("Email", exact=True).press("Enter")
    mail = page.locator("#mailbox-list .mail").first
    expect(mail).to_contain_text("sign-in code")
    mail.get_by_role("button", name="Use this code").click()
    page.locator("#code-login-form").get_by_label("Code from the email").press("Enter")
    expect(page.locator("#me-name")).to_have_text("Ada Lovelace")

    # reset the password, then the old one no longer works and the new one does
    log_out(page)
    page.get_by_role("tab", name="Reset password").click()
    ask = page.locator("#reset-request-form")
    ask.get_by_label("Email", exact=True).fill(email)
    ask.get_by_label("Email", exact=True).press("Enter")
    mail = page.locator("#mailbox-list .mail").first
    expect(mail).to_contain_text(re.compile("reset", re.IGNORECASE))
    # asking again at once: refused, and the page says when to try again
    ask.get_by_label("Email", exact=True).press("Enter")
    expect_notice(page, "error", "Too many attempts. Try again in")
    assert any(status == 429 for status, _ in watch.api_errors)
    mail.get_by_role("button", name="Use this code").click()
    page.locator("#reset-code-form").get_by_label("Code from the email").press("Enter")
    new_password = page.locator("#reset-password-form").get_by_label("New password")
    new_password.fill("an even better password")
    new_password.press("Enter")
    expect_notice(page, "success", "Password changed")
    expect(page.get_by_role("tab", name="Log in", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )
    expect(login.get_by_label("Email", exact=True)).to_have_value(email)
    shots(page, "password-reset")
    login.get_by_label("Password").fill(PASSWORD)
    login.get_by_label("Password").press("Enter")
    expect_notice(page, "error", "The email or password is not correct.")
    login.get_by_label("Password").fill("an even better password")
    login.get_by_label("Password").press("Enter")
    expect(page.locator("#me-name")).to_have_text("Ada Lovelace")
    shots(page, "signed-in-again")


def test_the_page_is_readable_on_a_phone(browsing: Browsing, shots: Shots) -> None:
    page, _ = browsing.page(viewport=(390, 844), mobile=True)
    open_client(page)
    shots(page, "phone-signed-out", full_page=False)
    sign_up(page, browsing.server, "Grace Hopper", "grace@example.com")
    page.get_by_label("Upload through the API").set_input_files(
        {"name": "a-file-with-a-rather-long-name.txt", "mimeType": "text/plain", "buffer": NOTES}
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#file-list tr")).to_have_count(1)
    create_room(page, "Phone room")
    send(page, "typing on a small screen")
    expect(page.locator("#message-list li.message")).to_have_count(1)
    shots(page, "phone-signed-in")
    page.locator("#room-list").scroll_into_view_if_needed()
    shots(page, "phone-chat-screen", full_page=False)
    # nothing wider than the screen: no sideways scrolling
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths


def test_the_page_works_from_the_keyboard(browsing: Browsing) -> None:
    page, _ = browsing.page()
    open_client(page)
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent")
    assert focused == "Skip to content"
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline == ["solid", "3px"]  # focus is visible
    page.keyboard.press("Enter")  # skips the header
    page.keyboard.press("Tab")
    expect(page.get_by_role("tab", name="Sign up")).to_be_focused()
    page.keyboard.press("ArrowRight")  # tabs move with the arrow keys
    expect(page.get_by_role("tab", name="Verify email")).to_be_focused()
    expect(page.get_by_role("tab", name="Verify email")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Tab")
    expect(page.locator("#login-form").get_by_label("Email", exact=True)).to_be_focused()
