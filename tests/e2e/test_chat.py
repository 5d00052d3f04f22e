"""Two people, two browser contexts, one room: presence, typing and messages both ways, and a
reconnect that loses nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Browsing, Shots, Watch
from tests.e2e.helpers import create_room, messages, open_room, send, seqs, sign_up

pytestmark = pytest.mark.e2e


def member(page: Page, user_id: str) -> str:
    return f"#member-list li[data-user-id='{user_id}']"


def two_people_in_a_room(
    browsing: Browsing, room: str, prefix: str
) -> tuple[tuple[Page, Watch, str], tuple[Page, Watch, str]]:
    """Ada creates `room` and adds Bob by his user id (which Bob reads off his page)."""
    ada, ada_watch = browsing.page()
    bob, bob_watch = browsing.page()
    ada_id = sign_up(ada, browsing.server, "Ada", f"{prefix}-ada@example.com")
    bob_id = sign_up(bob, browsing.server, "Bob", f"{prefix}-bob@example.com")
    create_room(ada, room)
    members = ada.locator("#member-form")
    members.get_by_label("Add a member by user id").fill(bob_id)
    members.get_by_label("Add a member by user id").press("Enter")
    # Bob's socket joins the room as it is added: it shows up in his list without a reload
    expect(bob.locator("#room-list")).to_contain_text(room)
    open_room(bob, room)
    return (ada, ada_watch, ada_id), (bob, bob_watch, bob_id)


def test_two_people_see_each_other_online_typing_and_their_messages(
    browsing: Browsing, shots: Shots
) -> None:
    (ada, _, ada_id), (bob, _, bob_id) = two_people_in_a_room(browsing, "Pair", "pair")

    expect(ada.locator(member(ada, bob_id))).to_have_attribute("data-status", "online")
    expect(bob.locator(member(bob, ada_id))).to_have_attribute("data-status", "online")

    # Ada types: Bob sees it; she sends: Bob gets the message and the indicator goes
    ada.get_by_label("Message", exact=True).press_sequentially("Hi Bob", delay=30)
    expect(bob.locator("#typing")).to_have_text(f"User {ada_id[:6]} is typing…")
    shots(bob, "bob-sees-ada-typing")
    ada.get_by_label("Message", exact=True).press("Enter")
    expect(bob.locator("#message-list li.message")).to_have_count(1)
    assert messages(bob) == ["Hi Bob"]
    expect(bob.locator("#typing")).to_have_text("")

    bob.get_by_label("Message", exact=True).press_sequentially("Hello Ada", delay=30)
    expect(ada.locator("#typing")).to_have_text(f"User {bob_id[:6]} is typing…")
    bob.get_by_label("Message", exact=True).press("Enter")
    expect(ada.locator("#message-list li.message")).to_have_count(2)
    assert messages(ada) == messages(bob) == ["Hi Bob", "Hello Ada"]
    assert seqs(ada) == seqs(bob) == [1, 2]
    shots(ada, "ada-conversation")
    shots(bob, "bob-conversation")

    # Bob leaves: Ada sees him go offline
    bob.context.close()
    expect(ada.locator(member(ada, bob_id))).to_have_attribute("data-status", "offline")
    shots(ada, "ada-sees-bob-offline")


def test_a_reconnect_loses_no_message_either_way(browsing: Browsing, shots: Shots) -> None:
    (ada, _, _), (bob, bob_watch, _) = two_people_in_a_room(browsing, "Flaky", "flaky")
    send(ada, "before")
    expect(bob.locator("#message-list li.message")).to_have_count(1)

    # Bob's network goes away; Ada goes on talking, Bob writes one too
    bob_watch.go_offline(bob)
    expect(bob.locator("#connection")).to_have_text("reconnecting…", timeout=15_000)
    for text in ("while", "you", "were", "away"):
        send(ada, text)
    expect(ada.locator("#message-list li.message")).to_have_count(5)
    send(bob, "sent offline")
    expect(bob.locator("#message-list li.pending")).to_contain_text("waiting for the connection")
    shots(bob, "bob-offline")

    bob_watch.go_offline(bob, False)
    expect(bob.locator("#connection")).to_have_text("connected", timeout=15_000)
    expect(bob.locator("#message-list li.message:not(.pending)")).to_have_count(6)
    expected = ["before", "while", "you", "were", "away", "sent offline"]
    assert messages(bob) == expected
    assert seqs(bob) == [1, 2, 3, 4, 5, 6]
    expect(ada.locator("#message-list li.message")).to_have_count(6)
    assert messages(ada) == expected
    shots(bob, "bob-caught-up")
