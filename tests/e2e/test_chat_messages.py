"""The reference client's message tools, in several browser contexts (each its own person):
editing and deleting one's own messages, paging back through history, "seen by" from read
receipts, and attachments with image previews."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Browsing, Shots
from tests.e2e.helpers import create_room, send, sign_up
from tests.e2e.test_chat import two_people_in_a_room
from tests.support.processes import ServerProcess, http_call, running_server

pytestmark = pytest.mark.e2e


def item(page: Page, seq: int) -> str:
    return f"#message-list li.message[data-seq='{seq}']"


def token(page: Page) -> str:
    found: str = page.evaluate("JSON.parse(localStorage.getItem('flowhub.session')).access_token")
    return found


def room_id(page: Page) -> str:
    found: str = (
        page.locator("#room-list button[aria-current='true']").get_attribute("data-room-id") or ""
    )
    assert found
    return found


def post(
    server: ServerProcess, page: Page, room: str, body: str, **extra: object
) -> dict[str, Any]:
    """A message sent over HTTP with `page`'s session (faster than typing it)."""
    reply = http_call(
        server.port,
        "POST",
        f"/api/v1/chat/rooms/{room}/messages",
        body=json.dumps({"body": body, **extra}),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token(page)}"},
    )
    assert reply.status == 201, reply.body
    answer = reply.json()
    assert isinstance(answer, dict)
    return answer


def invite(page: Page, user_id: str) -> None:
    members = page.locator("#member-form")
    members.get_by_label("Invite by user id").fill(user_id)
    members.get_by_label("Invite by user id").press("Enter")
    sent = page.locator(".notice.success", has_text="Invitation sent")
    expect(sent).to_have_count(1)
    sent.get_by_role("button", name="Dismiss").click()
    expect(sent).to_have_count(0)


def accept(page: Page, room: str) -> None:
    page.locator("#invitation-list li", has_text=room).get_by_role("button", name="Accept").click()
    expect(page.locator("#room-name")).to_have_text(room)


def three_people_in_a_room(browsing: Browsing, room: str, prefix: str) -> list[tuple[Page, str]]:
    """Ada creates `room`, invites Bob and Carol, who accept: [(page, user id)] in that order."""
    people = []
    for name in ("Ada", "Bob", "Carol"):
        page, _ = browsing.page()
        email = f"{prefix}-{name.lower()}@example.com"
        people.append((page, sign_up(page, browsing.server, name, email)))
    (ada, _), (bob, bob_id), (carol, carol_id) = people
    create_room(ada, room)
    invite(ada, bob_id)
    invite(ada, carol_id)
    accept(bob, room)
    accept(carol, room)
    for _, user_id in people[1:]:
        expect(ada.locator(f"#member-list li[data-user-id='{user_id}']")).to_be_visible()
    return people


def test_edits_and_deletions_reach_the_other_person(browsing: Browsing, shots: Shots) -> None:
    (ada, _, _), (bob, _, _) = two_people_in_a_room(browsing, "Edits", "edits")
    send(ada, "helo Bob")
    send(ada, "a mistake")
    expect(bob.locator("#message-list li.message:not(.pending)")).to_have_count(2)

    # only her own messages offer Edit and Delete; Bob's page offers none for hers
    on_bob = bob.locator("#message-list")
    expect(on_bob.get_by_role("button", name="Edit message")).to_have_count(0)
    expect(on_bob.get_by_role("button", name="Delete message")).to_have_count(0)

    # Ada edits with the keyboard: Edit, type, Enter
    ada.locator(item(ada, 1)).get_by_role("button", name="Edit message").click()
    box = ada.get_by_label("Edit the message")
    expect(box).to_be_focused()
    expect(box).to_have_value("helo Bob")
    box.fill("hello Bo")
    # a message arriving meanwhile redraws the list: the draft, the focus and the caret stay
    send(bob, "hi?")
    expect(ada.locator(item(ada, 3))).to_be_visible()
    expect(box).to_be_focused()
    expect(box).to_have_value("hello Bo")
    box.press_sequentially("b")
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

    # Ada deletes the second (Delete asks once more): both pages show a tombstone, same seq
    ada.locator(item(ada, 2)).get_by_role("button", name="Delete message").click()
    really = ada.locator(item(ada, 2)).get_by_role("button", name="Really delete the message")
    expect(really).to_be_focused()
    expect(ada.locator(item(ada, 2)).locator(".body")).to_have_text("a mistake")
    ada.keyboard.press("Enter")
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


def test_an_edit_after_the_window_shows_the_servers_refusal(
    browsing: Browsing, shots: Shots
) -> None:
    """An edit opened inside the window (GET /config reports it: 3 s here) and saved after it
    shows the server's 409 `edit_window_closed` as a sentence, the message unchanged."""
    env = {"APP_ENV": "development", "MESSAGE_EDIT_WINDOW_S": "3"}
    with running_server("tests.e2e.server_app", env=env) as strict:
        ada, ada_watch = browsing.page(server=strict)
        sign_up(ada, strict, "Ada", "late-ada@example.com")
        create_room(ada, "Late")
        send(ada, "too late to fix")
        expect(ada.locator(item(ada, 1)).locator(".body")).to_have_text("too late to fix")
        ada.locator(item(ada, 1)).get_by_role("button", name="Edit message").click()
        ada.get_by_label("Edit the message").fill("fixed")
        ada.wait_for_timeout(3500)  # the window closes while the box is open
        ada.get_by_label("Edit the message").press("Enter")
        expect(ada.locator(".notice.error")).to_contain_text("edit window has closed")
        expect(ada.locator(item(ada, 1)).locator(".body")).to_have_text("too late to fix")
        shots(ada, "edit-refused")
        assert [status for status, _ in ada_watch.api_errors] == [409]
        ada.context.close()


def offset_in_list(page: Page, seq: int) -> float:
    """How far message `seq` is from the list's top, in one evaluation of the list (a redraw
    between finding the item and measuring it would detach it)."""
    top: float = page.locator("#message-list").evaluate(
        """(list, seq) => {
            const li = list.querySelector(`li.message[data-seq='${seq}']`);
            return li.getBoundingClientRect().top - list.getBoundingClientRect().top;
        }""",
        seq,
    )
    return top


def test_earlier_messages_load_above_and_keep_the_view(browsing: Browsing, shots: Shots) -> None:
    """60 messages (20 from each of three people: the per-sender rate limit): the room opens
    on the latest 50, "Load earlier messages" fetches the 10 before them."""
    people = three_people_in_a_room(browsing, "History", "history")
    ada = people[0][0]
    room = room_id(ada)
    for n in range(60):
        post(browsing.server, people[n % 3][0], room, f"message {n + 1}")
    bob = people[1][0]
    bob.reload()
    bob.locator("#room-list").get_by_role("button", name="History").click()
    shown = bob.locator("#message-list li.message")
    expect(shown).to_have_count(50)
    expect(shown.first.locator(".body")).to_have_text("message 11")
    expect(shown.last.locator(".body")).to_have_text("message 60")
    earlier = bob.get_by_role("button", name="Load earlier messages")
    expect(earlier).to_be_visible()

    # scrolled to the top, the oldest shown message stays in view after the load
    bob.locator("#message-list").evaluate("list => { list.scrollTop = 0; }")
    top_before = offset_in_list(bob, 11)
    earlier.focus()
    bob.keyboard.press("Enter")  # keyboard
    expect(shown).to_have_count(60)
    expect(shown.first.locator(".body")).to_have_text("message 1")
    top_after = offset_in_list(bob, 11)
    assert abs(top_after - top_before) < 4, (top_before, top_after)
    expect(earlier).to_be_hidden()  # nothing older
    assert [int(s) for s in shown.evaluate_all("i => i.map(x => x.dataset.seq)")] == list(
        range(1, 61)
    )
    shots(bob, "history-loaded")


def test_seen_by_names_the_members_who_read_the_last_message(
    browsing: Browsing, shots: Shots
) -> None:
    """Three people: both readers show under Ada's message, from `receipt` events live and
    from GET .../receipts after a reload; one who has not read it yet is not named."""
    (ada, _), (bob, _), (carol, _) = three_people_in_a_room(browsing, "Readers", "readers")
    seen = ada.locator("#message-list li.seen-by")
    send(ada, "anyone there?")
    expect(bob.locator(item(bob, 1))).to_be_visible()
    expect(carol.locator(item(carol, 1))).to_be_visible()
    expect(seen).to_have_text("Seen by Bob, Carol")  # live, from their receipts
    expect(seen).to_have_attribute("data-seq", "1")  # under the last message
    # on Carol's page: Bob read it (Ada sent it, Carol is herself)
    expect(carol.locator("#message-list li.seen-by")).to_have_text("Seen by Bob")
    shots(ada, "seen-by-both")

    # Carol is away from the room (reloaded, no room open): the next message is Bob's read only
    carol.reload()
    expect(carol.locator("#connection")).to_have_text("connected", timeout=15_000)
    send(ada, "Carol?")
    expect(bob.locator(item(bob, 2))).to_be_visible()
    expect(seen).to_have_text("Seen by Bob")
    expect(seen).to_have_attribute("data-seq", "2")
    carol.locator("#room-list").get_by_role("button", name="Readers").click()
    expect(seen).to_have_text("Seen by Bob, Carol")

    # a reload reads the receipts from the server
    ada.reload()
    ada.locator("#room-list").get_by_role("button", name="Readers").click()
    expect(seen).to_have_text("Seen by Bob, Carol")
    expect(seen).to_have_attribute("data-seq", "2")
    # Bob answers: under his message, the readers are the others (Ada and Carol read it live)
    send(bob, "here")
    expect(seen).to_have_attribute("data-seq", "3")
    expect(seen).to_have_text("Seen by Carol")
    expect(bob.locator("#message-list li.seen-by")).to_have_text("Seen by Ada, Carol")
    shots(bob, "seen-by-on-bobs-message")


def png(width: int, height: int) -> bytes:
    image = Image.new("RGB", (width, height), (30, 120, 200))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_attachments_show_image_previews_and_deleted_files(
    browsing: Browsing, shots: Shots
) -> None:
    """Ada (wide screen) attaches an image she uploaded, a text file she uploads from the
    composer, and sends; Bob (a phone) sees the image's thumbnail (GET .../attachments) and the
    file's name as text; once Ada deletes the image from her files, Bob's page says so."""
    ada, _ = browsing.page()
    bob, _ = browsing.page(viewport=(390, 844), mobile=True)
    sign_up(ada, browsing.server, "Ada", "attach-ada@example.com")
    bob_id = sign_up(bob, browsing.server, "Bob", "attach-bob@example.com")
    create_room(ada, "Pictures")
    invite(ada, bob_id)
    accept(bob, "Pictures")

    # a file in the Files panel first; its name is markup, which must stay text
    image_name = "<img src=x onerror=alert(1)>cat.png"
    ada.get_by_label("Upload through the API").set_input_files(
        {"name": image_name, "mimeType": "image/png", "buffer": png(600, 400)}
    )
    ada.locator("#upload-api-form").get_by_role("button", name="Upload", exact=True).click()
    expect(ada.locator("#file-list tr", has_text="cat.png")).to_contain_text("ready")

    ada.locator("#attach-toggle").click()
    expect(ada.locator("#attach-toggle")).to_have_attribute("aria-expanded", "true")
    picker = ada.locator("#attach-panel")
    picker.get_by_label(image_name).check()
    # a second one, uploaded from the composer, is attached at once
    picker.get_by_label("Upload a file to attach").set_input_files(
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"shopping list\n"}
    )
    picker.get_by_role("button", name="Upload and attach").click()
    expect(ada.locator("#attach-chosen")).to_have_text(f"Attaching 2: {image_name}, notes.txt")
    send(ada, "two files")
    expect(ada.locator("#attach-chosen")).to_have_text("")
    expect(ada.locator("#attach-panel")).to_be_hidden()

    message = bob.locator(item(bob, 1))
    expect(message.locator(".body")).to_have_text("two files")
    thumb = message.locator("img.thumb")
    expect(thumb).to_have_attribute("alt", image_name)
    expect(thumb).to_have_attribute("src", re.compile(r".+"))
    bob.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    width = thumb.evaluate("img => img.naturalWidth")
    assert 0 < width <= 256, width  # a thumbnail, not the 600 px original
    expect(message.get_by_role("button", name="Download notes.txt")).to_have_text(
        "notes.txt (14 B)"
    )
    assert bob.evaluate("document.querySelectorAll('#message-list img:not(.thumb)').length") == 0
    # the thumbnail fits a phone's message bubble
    box = thumb.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    shots(bob, "bob-sees-the-preview-on-a-phone")

    # Ada deletes the image from her files: Bob's page (after a reload) says it is gone
    ada.locator("#file-list tr", has_text="cat.png").get_by_role("button", name="Delete").click()
    expect(ada.locator("#file-list tr", has_text="cat.png")).to_have_count(0)
    bob.reload()
    bob.locator("#room-list").get_by_role("button", name="Pictures").click()
    gone = bob.locator(item(bob, 1)).locator(".attachment.gone")
    expect(gone).to_have_text(f"{image_name}: file deleted")
    expect(bob.locator(item(bob, 1)).locator("img")).to_have_count(0)
    expect(
        bob.locator(item(bob, 1)).get_by_role("button", name="Download notes.txt")
    ).to_be_visible()
    shots(bob, "bob-sees-file-deleted")
