"""The reference client's message tools, in several browser contexts (each its own person):
editing and deleting one's own messages, paging back through history, "seen by" from read
receipts, and attachments with image previews."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Browsing, Shots
from tests.e2e.helpers import send
from tests.e2e.test_chat import two_people_in_a_room

pytestmark = pytest.mark.e2e


def item(page: Page, seq: int) -> str:
    return f"#message-list li.message[data-seq='{seq}']"


def test_edits_and_deletions_reach_the_other_person(browsing: Browsing, shots: Shots) -> None:
    (ada, _, _), (bob, _, _) = two_people_in_a_room(browsing, "Edits", "edits")
    send(ada, "helo Bob")
    send(ada, "a mistake")
    expect(bob.locator("#message-list li.message:not(.pending)")).to_have_count(2)

    # only her own messages offer Edit and Delete; Bob's page offers none for hers
    expect(bob.locator("#message-list").get_by_role("button", name="Edit message")).to_have_count(0)
    expect(bob.locator("#message-list").get_by_role("button", name="Delete message")).to_have_count(0)

    # Ada edits with the keyboard: Edit, type, Enter
    ada.locator(item(ada, 1)).get_by_role("button", name="Edit message").click()
    box = ada.get_by_label("Edit the message")
    expect(box).to_be_focused()
    expect(box).to_have_value("helo Bob")
    box.fill("hello Bob")
    box.press("Enter")
    expect(ada.locator(item(ada, 1)).locator(".body")).to_have_text("hello Bob")
    expect(ada.locator(item(ada, 1)).locator(".edited")).to_be_visible()
    # Bob sees the edit live (message:updated), marked "edited"
    expect(bob.locator(item(bob, 1)).locator(".body")).to_have_text("hello Bob")
    expect(bob.locator(item(bob, 1)).locator(".meta")).to_contain_text("edited")

    # Escape cancels an edit and changes nothing
    ada.locator(item(ada, 2)).get_by_role("button", name="Edit message").click()
    ada.get_by_label("Edit the message").fill("never sent")
    ada.get_by_label("Edit the message").press("Escape")
    expect(ada.locator(item(ada, 2)).locator(".body")).to_have_text("a mistake")
    expect(ada.locator(item(ada, 2)).get_by_role("button", name="Edit message")).to_be_focused()

    # Ada deletes the second: both pages show a tombstone in its place, same seq
    ada.locator(item(ada, 2)).get_by_role("button", name="Delete message").click()
    expect(ada.locator(item(ada, 2)).locator(".tombstone")).to_have_text("message deleted")
    expect(bob.locator(item(bob, 2)).locator(".tombstone")).to_have_text("message deleted")
    expect(bob.locator(item(bob, 2)).locator(".body")).to_have_count(0)
    expect(ada.locator(item(ada, 2)).get_by_role("button")).to_have_count(0)
    shots(bob, "bob-sees-edit-and-tombstone")

    # after a reload the history says the same
    bob.reload()
    bob.locator("#room-list").get_by_role("button", name="Edits").click()
    expect(bob.locator(item(bob, 1)).locator(".body")).to_have_text("hello Bob")
    expect(bob.locator(item(bob, 1)).locator(".meta")).to_contain_text("edited")
    expect(bob.locator(item(bob, 2)).locator(".tombstone")).to_have_text("message deleted")


def test_a_body_edited_into_markup_stays_text(browsing: Browsing) -> None:
    (ada, _, _), (bob, _, _) = two_people_in_a_room(browsing, "Markup", "markup")
    send(ada, "plain")
    expect(bob.locator("#message-list li.message:not(.pending)")).to_have_count(1)
    attack = '<img src=x onerror="document.body.dataset.owned=1"><b>bold</b>'
    ada.locator(item(ada, 1)).get_by_role("button", name="Edit message").click()
    ada.get_by_label("Edit the message").fill(attack)
    ada.get_by_label("Edit the message").press("Enter")
    expect(bob.locator(item(bob, 1)).locator(".body")).to_have_text(attack)
    assert bob.locator(item(bob, 1)).locator("img, b").count() == 0
    assert bob.evaluate("document.body.dataset.owned") is None
