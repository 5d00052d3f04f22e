"""Avatars on the reference client, two people in two browser contexts: Ada picks one of her
images as her avatar from the Files panel; Bob sees it beside her name in the invitation, the
member list and her messages (the image really loads under the page's policy); cleared, her
initials show instead."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import Browsing, Shots
from tests.e2e.helpers import create_room, send, sign_up

pytestmark = pytest.mark.e2e


def png(size: int = 300) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (200, 40, 90)).save(out, format="PNG")
    return out.getvalue()


def stored_user(page: Page) -> dict[str, str]:
    session = json.loads(page.evaluate("() => localStorage.getItem('flowhub.session')"))
    user: dict[str, str] = session["user"]
    return user


def loaded(image: Locator) -> bool:
    return bool(image.evaluate("i => i.complete && i.naturalWidth > 0"))


def test_bob_sees_adas_avatar_and_her_initials_once_cleared(
    browsing: Browsing, shots: Shots
) -> None:
    ada, _ = browsing.page()
    bob, _ = browsing.page()
    ada_id = sign_up(ada, browsing.server, "Ada Lovelace", "ada-avatar@example.com")
    bob_id = sign_up(bob, browsing.server, "Bob", "bob-avatar@example.com")
    # no avatar yet: initials in the header
    expect(ada.locator("#me-avatar .avatar.initials")).to_have_text("AL")

    ada.get_by_label("Upload through the API").set_input_files(
        {"name": "me.png", "mimeType": "image/png", "buffer": png()}
    )
    ada.get_by_role("button", name="Upload", exact=True).click()
    row = ada.locator("#file-list tr", has_text="me.png")
    row.get_by_role("button", name="Use me.png as your avatar").click()
    expect(ada.locator("#notices")).to_contain_text("me.png is your avatar now")
    url = stored_user(ada).get("avatar_url")
    assert url, stored_user(ada)
    expect(ada.locator("#me-avatar img")).to_have_attribute("src", url)
    expect(ada.get_by_role("button", name="Clear avatar")).to_be_visible()
    # a plain-text file is no avatar: no button for it
    ada.get_by_label("Upload through the API").set_input_files(
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"words"}
    )
    ada.get_by_role("button", name="Upload", exact=True).click()
    expect(ada.locator("#file-list tr", has_text="notes.txt")).to_be_visible()
    text_row = ada.locator("#file-list tr", has_text="notes.txt")
    expect(text_row.get_by_role("button")).to_have_text(["Download", "Delete"])
    assert ada.get_by_role("button", name="Use notes.txt as your avatar").count() == 0

    create_room(ada, "Portraits")
    invite = ada.locator("#member-form")
    invite.get_by_label("Invite by user id").fill(bob_id)
    invite.get_by_label("Invite by user id").press("Enter")
    invitation = bob.locator("#invitation-list li", has_text="Portraits")
    expect(invitation.locator(".avatar img")).to_have_attribute("src", url)
    invitation.get_by_role("button", name="Accept").click()
    expect(bob.locator("#room-name")).to_have_text("Portraits")
    in_members = bob.locator(f"#member-list li[data-user-id='{ada_id}'] .avatar img")
    expect(in_members).to_have_attribute("src", url)
    send(ada, "A portrait of me")
    by_ada = bob.locator(f"#message-list li.message[data-sender='{ada_id}'] .meta .avatar img")
    expect(by_ada).to_have_attribute("src", url)
    bob.wait_for_function(
        "() => [...document.querySelectorAll('#message-list .avatar img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    assert loaded(by_ada) and loaded(in_members)
    # Bob has none: his initials on Ada's page
    expect(ada.locator(f"#member-list li[data-user-id='{bob_id}'] .avatar.initials")).to_have_text(
        "B"
    )
    shots(bob, "bob-sees-ada")

    ada.get_by_role("button", name="Clear avatar").click()
    expect(ada.locator("#me-avatar .avatar.initials")).to_have_text("AL")
    assert "avatar_url" not in stored_user(ada)
    # no event tells of it: Bob's page reads the room's people again when he opens it
    bob.locator("#room-list").get_by_role("button", name="Portraits").click()
    expect(bob.locator(f"#member-list li[data-user-id='{ada_id}'] .avatar.initials")).to_have_text(
        "AL"
    )
    expect(
        bob.locator(f"#message-list li.message[data-sender='{ada_id}'] .avatar.initials")
    ).to_have_text("AL")
    shots(bob, "ada-cleared")
