"""What a person does on the reference client, as steps the tests share."""

from __future__ import annotations

import re
import time
from urllib.parse import quote

from playwright.sync_api import Page, expect

from tests.support.processes import ServerProcess, http_json

PASSWORD = "correct horse battery"


def mailbox_code(server: ServerProcess, email: str) -> str:
    """The newest code mailed to `email`, straight from the development mailbox. Mail goes out
    in the background (after the suppression list is read), so it is waited for, briefly."""
    deadline = time.monotonic() + 10
    while True:
        status, body = http_json(server.port, "GET", f"/api/v1/dev/mailbox?to={quote(email)}")
        assert status == 200, body
        if body["messages"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert body["messages"], f"no mail for {email} within 10 s"
    found = re.search(r"\b(\d{6})\b", body["messages"][0]["text"])
    assert found, body
    return found.group(1)


def open_client(page: Page) -> None:
    page.goto("/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")


def sign_up(page: Page, server: ServerProcess, name: str, email: str) -> str:
    """Sign up and verify with the mailed code, keyboard only; returns the user's id."""
    open_client(page)
    page.get_by_role("tab", name="Sign up").click()
    form = page.locator("#signup-form")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Email", exact=True).fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_label("Password").press("Enter")
    expect(page.get_by_role("tab", name="Verify email")).to_have_attribute("aria-selected", "true")
    verify = page.locator("#verify-form")
    verify.get_by_label("Code from the email").fill(mailbox_code(server, email))
    verify.get_by_label("Code from the email").press("Enter")
    expect(page.locator("#me-name")).to_have_text(name)
    expect(page.locator("#connection")).to_have_text("connected")
    return page.locator("#me-id").inner_text()


def create_room(page: Page, name: str, simulated: bool = False) -> None:
    form = page.locator("#room-form")
    form.get_by_label("New room name").fill(name)
    if simulated:
        form.get_by_label("with a simulated peer that answers").check()
    form.get_by_label("New room name").press("Enter")
    expect(page.locator("#room-name")).to_have_text(name)


def open_room(page: Page, name: str) -> None:
    page.locator("#room-list").get_by_role("button", name=name).click()
    expect(page.locator("#room-name")).to_have_text(name)


def send(page: Page, text: str) -> None:
    # while a send is in flight the form's button is disabled, and Enter submits nothing
    expect(page.locator("#message-form")).not_to_have_attribute("aria-busy", "true")
    box = page.get_by_label("Message", exact=True)
    box.fill(text)
    box.press("Enter")


def messages(page: Page) -> list[str]:
    """The bodies of the messages shown (delivered ones, not pending), in order."""
    return page.locator("#message-list li.message:not(.pending) .body").all_inner_texts()


def seqs(page: Page) -> list[int]:
    found = page.locator("#message-list li.message:not(.pending)").evaluate_all(
        "items => items.map(i => Number(i.dataset.seq))"
    )
    return [int(s) for s in found]


def sees_typing(page: Page, text: str, timeout_ms: float = 10_000) -> None:
    """`text` shows in the typing line, checked every 50 ms: a typing state can be short (the
    simulated peer types for 0.4-1.6 s), shorter than expect()'s polling steps once it slows
    to one a second."""
    page.wait_for_function(
        "text => document.querySelector('#typing').textContent === text",
        arg=text,
        polling=50,
        timeout=timeout_ms,
    )
