"""Inviting by email on the reference client: Ada invites an address before anyone has it;
the room lists it by its hint and Ada (the creator) can withdraw one; Carol signs up with the
address, verifies it from the development mailbox, sees the invitation and accepts."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Browsing, Shots
from tests.e2e.helpers import create_room, sign_up

pytestmark = pytest.mark.e2e


def invite(page: Page, email: str) -> None:
    form = page.locator("#email-invite-form")
    form.get_by_label("Invite by email").fill(email)
    form.get_by_label("Invite by email").press("Enter")


def test_an_address_invited_before_it_signs_up_accepts_once_verified(
    browsing: Browsing, shots: Shots
) -> None:
    ada, _ = browsing.page()
    ada_id = sign_up(ada, browsing.server, "Ada", "ada-email-invite@example.com")
    create_room(ada, "Garden")
    invite(ada, "carol@example.com")
    pending = ada.locator("#email-invitation-list li")
    expect(pending).to_have_count(1)
    expect(pending.first).to_contain_text("c…@example.com")
    expect(ada.locator("#notices")).to_contain_text("Invited carol@example.com")
    # a second address, withdrawn by the creator from the keyboard
    invite(ada, "dan@example.org")
    expect(pending).to_have_count(2)
    withdraw = ada.get_by_role("button", name="Withdraw the invitation of d…@example.org")
    withdraw.focus()
    withdraw.press("Enter")
    expect(pending).to_have_count(1)
    expect(pending.first).to_contain_text("c…@example.com")
    shots(ada, "pending")

    carol, _ = browsing.page(viewport=(390, 844), mobile=True)
    carol_id = sign_up(carol, browsing.server, "Carol", "carol@example.com")
    invitation = carol.locator("#invitation-list li", has_text="Garden")
    # the inviter shows as "User <id>": GET /users does not name the creator of a room the
    # caller is invited to by email (only rooms shared, or invited to by user id)
    expect(invitation).to_contain_text("Garden (from ")
    shots(carol, "invited")
    invitation.get_by_role("button", name="Accept").click()
    expect(carol.locator("#room-name")).to_have_text("Garden")
    expect(carol.locator(f"#member-list li[data-user-id='{ada_id}']")).to_be_visible()
    # Carol is no creator: no Withdraw anywhere on her page
    expect(carol.get_by_role("button", name="Withdraw", exact=False)).to_have_count(0)

    expect(ada.locator(f"#member-list li[data-user-id='{carol_id}']")).to_be_visible()
    expect(pending).to_have_count(0)
    expect(ada.locator("#email-invitations")).to_be_hidden()
    shots(ada, "carol-joined")
