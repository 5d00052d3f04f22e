"""Two people, two browser contexts, one room: presence, typing and messages both ways, and a
reconnect that loses nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
import redis
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Browsing, Shots, Watch
from tests.e2e.helpers import create_room, messages, sees_typing, send, seqs, sign_up
from tests.support.processes import ServerProcess, running_server
from tests.support.services import with_database

pytestmark = pytest.mark.e2e


def member(page: Page, user_id: str) -> str:
    return f"#member-list li[data-user-id='{user_id}']"


def two_people_in_a_room(
    browsing: Browsing,
    room: str,
    prefix: str,
    servers: tuple[ServerProcess, ServerProcess] | None = None,
) -> tuple[tuple[Page, Watch, str], tuple[Page, Watch, str]]:
    """Ada creates `room` and invites Bob by his user id (which Bob reads off his page); Bob
    accepts the invitation his page shows."""
    on_ada, on_bob = servers or (browsing.server, browsing.server)
    ada, ada_watch = browsing.page(server=on_ada)
    bob, bob_watch = browsing.page(server=on_bob)
    ada_id = sign_up(ada, on_ada, "Ada", f"{prefix}-ada@example.com")
    bob_id = sign_up(bob, on_bob, "Bob", f"{prefix}-bob@example.com")
    create_room(ada, room)
    members = ada.locator("#member-form")
    members.get_by_label("Invite by user id").fill(bob_id)
    members.get_by_label("Invite by user id").press("Enter")
    # the invitation reaches Bob's page without a reload; accepted, the room opens there
    invitation = bob.locator("#invitation-list li", has_text=room)
    invitation.get_by_role("button", name="Accept").click()
    expect(bob.locator("#room-list")).to_contain_text(room)
    expect(bob.locator("#room-name")).to_have_text(room)
    expect(ada.locator(member(ada, bob_id))).to_be_visible()  # room:member_added
    return (ada, ada_watch, ada_id), (bob, bob_watch, bob_id)


@contextmanager
def two_instances(
    redis_url: str, mongodb_uri: str
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two server processes sharing real Redis (Socket.IO's manager, presence, typing) and
    MongoDB, like two machines behind a load balancer; the mailer stays in memory (each
    instance's own mailbox) and so do files."""
    env = {
        "APP_ENV": "development",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": redis_url,
        "MONGODB_URI": mongodb_uri,
        "JWT_SECRET": "j" * 40,
        "JWT_REFRESH_SECRET": "r" * 40,
    }
    with ExitStack() as stack:
        first = stack.enter_context(running_server("tests.e2e.server_app", env=env))
        second = stack.enter_context(running_server("tests.e2e.server_app", env=env))
        yield first, second


@pytest.fixture(params=["one instance, memory", "two instances, Redis and MongoDB"])
def servers(
    request: pytest.FixtureRequest, server: ServerProcess
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    if request.param.startswith("one"):
        yield server, server
        return
    redis_url: str = request.getfixturevalue("redis_url")
    mongodb_uri: str = request.getfixturevalue("mongodb_uri")
    database: str = request.getfixturevalue("mongo_db_name")
    # a clean slate, as the Redis fixtures give every test (rate-limit windows included)
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    with two_instances(redis_url, with_database(mongodb_uri, database)) as pair:
        yield pair


def test_two_people_see_each_other_online_typing_and_their_messages(
    browsing: Browsing, shots: Shots, servers: tuple[ServerProcess, ServerProcess]
) -> None:
    """Over one instance on memory adapters, and with each person on their own instance
    (Redis carries every event between them)."""
    (ada, _, ada_id), (bob, _, bob_id) = two_people_in_a_room(browsing, "Pair", "pair", servers)

    expect(ada.locator(member(ada, bob_id))).to_have_attribute("data-status", "online")
    expect(bob.locator(member(bob, ada_id))).to_have_attribute("data-status", "online")

    # Ada types: Bob sees it; she sends: Bob gets the message and the indicator goes
    ada.get_by_label("Message", exact=True).press_sequentially("Hi Bob", delay=30)
    sees_typing(bob, f"User {ada_id[:6]} is typing…")
    shots(bob, "bob-sees-ada-typing")
    ada.get_by_label("Message", exact=True).press("Enter")
    expect(bob.locator("#message-list li.message")).to_have_count(1)
    assert messages(bob) == ["Hi Bob"]
    expect(bob.locator("#typing")).to_have_text("")

    bob.get_by_label("Message", exact=True).press_sequentially("Hello Ada", delay=30)
    sees_typing(ada, f"User {bob_id[:6]} is typing…")
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


def test_unread_counts_come_from_the_server_and_reading_clears_them(
    browsing: Browsing, shots: Shots
) -> None:
    (ada, _, _), (bob, _, _) = two_people_in_a_room(browsing, "Unread", "unread")
    bob.reload()  # no room open: what Ada sends now is unread for Bob
    expect(bob.locator("#connection")).to_have_text("connected", timeout=15_000)
    send(ada, "one")
    send(ada, "two")
    expect(ada.locator("#message-list li.message:not(.pending)")).to_have_count(2)
    badge = bob.locator("#room-list .unread")
    expect(badge).to_have_text("2")
    bob.reload()  # the count survives a reload: it is the server's
    expect(badge).to_have_text("2")
    shots(bob, "unread")
    bob.locator("#room-list").get_by_role("button", name="Unread").click()
    expect(bob.locator("#message-list li.message")).to_have_count(2)
    expect(badge).to_have_count(0)
    bob.wait_for_timeout(300)  # the read mark reaches the server
    bob.reload()
    expect(bob.locator("#room-list")).to_contain_text("Unread")
    expect(badge).to_have_count(0)  # read, as the server says
