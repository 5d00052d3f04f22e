"""Every row of API.md's "Chat over HTTP" table through the HTTP app (memory adapters),
membership (IDOR) and idempotency included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.api.auth_client import AuthClient, use_fast_hasher
from tests.api.conftest import AppFactory
from tests.api.files_client import TEXT, FilesClient
from tests.support.images import png

pytestmark = pytest.mark.api


@pytest_asyncio.fixture
async def api(make_app: AppFactory) -> AsyncIterator[AuthClient]:
    app, container = make_app({})
    use_fast_hasher(container)
    async with app.test_app() as test_app:
        yield AuthClient(test_app.test_client(), container)


async def user(api: AuthClient, name: str) -> tuple[str, str]:
    pair = await api.signed_up(f"{name}@example.com", name.title())
    return pair["user"]["id"], pair["access_token"]


def code(body: Any) -> str:
    return str(body["error"]["code"])


async def test_a_room_is_created_listed_and_hidden_from_others(api: AuthClient) -> None:
    ada, ada_token = await user(api, "ada")
    bob, bob_token = await user(api, "bob")
    _, eve_token = await user(api, "eve")

    status, room, _ = await api.post(
        "/chat/rooms", {"name": "General", "member_ids": [bob]}, ada_token
    )
    assert status == 201, room
    fields = {"id", "name", "member_ids", "invited_ids", "email_invitations", "creator_id"}
    fields |= {"simulated"}
    assert set(room) == fields | {"created_at", "last_seq"}
    assert (room["member_ids"], room["invited_ids"], room["creator_id"]) == ([ada], [bob], ada)
    assert (room["simulated"], room["last_seq"]) == (False, 0)
    assert room["created_at"].endswith("Z")
    status, invitations, _ = await api.get("/chat/invitations", bob_token)
    assert [r["id"] for r in invitations["items"]] == [room["id"]]
    status, joined, _ = await api.post(f"/chat/rooms/{room['id']}/accept", None, bob_token)
    assert (status, joined["member_ids"], joined["invited_ids"]) == (200, [ada, bob], [])

    for token, expected in ((ada_token, [room["id"]]), (bob_token, [room["id"]]), (eve_token, [])):
        status, body, _ = await api.get("/chat/rooms", token)
        assert status == 200
        assert [r["id"] for r in body["items"]] == expected
        assert body["next_cursor"] is None


async def test_nobody_is_put_in_a_room_without_accepting(api: AuthClient) -> None:
    """The attack: a stranger who knows a user id put them in 500 rooms in 7 s, read their
    presence and messaged them. Now an invitation is all a stranger can send."""
    ada, ada_token = await user(api, "ada")
    _, eve_token = await user(api, "eve")
    rooms = []
    for n in range(3):
        status, room, _ = await api.post(
            "/chat/rooms", {"name": f"Spam {n}", "member_ids": [ada]}, eve_token
        )
        assert status == 201
        rooms.append(room["id"])
    status, mine, _ = await api.get("/chat/rooms", ada_token)
    assert mine["items"] == []
    await api.container.services.chat().socket_connected(ada)  # Ada is online
    status, presence, _ = await api.get(f"/presence?user_ids={ada}", eve_token)
    assert presence == {}  # nothing shared: Eve learns nothing
    status, body, _ = await api.post(f"/chat/rooms/{rooms[0]}/messages", {"body": "hi"}, eve_token)
    assert status == 201  # Eve talks to herself: Ada sees nothing of it
    _, waiting, _ = await api.get("/chat/invitations", ada_token)
    assert sorted(r["id"] for r in waiting["items"]) == sorted(rooms)
    status, body, _ = await api.get(f"/chat/rooms/{rooms[0]}/messages", ada_token)
    assert (status, code(body)) == (404, "not_found")
    for rid in rooms:
        status, _, _ = await api.post(f"/chat/rooms/{rid}/decline", None, ada_token)
        assert status == 204
    status, waiting, _ = await api.get("/chat/invitations", ada_token)
    assert waiting["items"] == []


async def test_a_member_leaves_and_the_creator_removes_over_http(api: AuthClient) -> None:
    ada, ada_token = await user(api, "ada")
    bob, bob_token = await user(api, "bob")
    cy, cy_token = await user(api, "cy")
    _, room, _ = await api.post("/chat/rooms", {"name": "R", "member_ids": [bob, cy]}, ada_token)
    rid = room["id"]
    for token in (bob_token, cy_token):
        assert (await api.post(f"/chat/rooms/{rid}/accept", None, token))[0] == 200
    status, body, _ = await api.send("DELETE", f"/chat/rooms/{rid}/members/{cy}", token=bob_token)
    assert (status, code(body)) == (403, "forbidden")
    status, after, _ = await api.send("DELETE", f"/chat/rooms/{rid}/members/{cy}", token=ada_token)
    assert (status, after["member_ids"]) == (200, [ada, bob])
    assert (await api.post(f"/chat/rooms/{rid}/leave", None, bob_token))[0] == 204
    for token in (bob_token, cy_token):
        status, body, _ = await api.get(f"/chat/rooms/{rid}/messages", token)
        assert (status, code(body)) == (404, "not_found")
    status, body, _ = await api.post(f"/chat/rooms/{rid}/leave", None, bob_token)
    assert (status, code(body)) == (404, "not_found")


async def test_the_rooms_list_pages_with_a_cursor(api: AuthClient) -> None:
    _, token = await user(api, "ada")
    made = [(await api.post("/chat/rooms", {"name": f"r{n}"}, token))[1]["id"] for n in range(3)]
    _, first, _ = await api.get("/chat/rooms?limit=2", token)
    assert len(first["items"]) == 2 and first["next_cursor"] == first["items"][1]["id"]
    _, rest, _ = await api.get(f"/chat/rooms?limit=2&cursor={first['next_cursor']}", token)
    paged = [r["id"] for r in first["items"] + rest["items"]]
    assert sorted(paged) == sorted(made)  # each once (rooms made in one millisecond: by id)
    assert rest["next_cursor"] is None
    status, body, _ = await api.get("/chat/rooms?cursor=nope", token)
    assert (status, code(body)) == (400, "invalid_cursor")


async def test_room_creation_validates_and_refuses_unknown_members(api: AuthClient) -> None:
    _, token = await user(api, "ada")
    status, body, _ = await api.post("/chat/rooms", {"name": ""}, token)
    assert (status, code(body)) == (422, "validation_error")
    status, body, _ = await api.post("/chat/rooms", {"name": "x" * 101}, token)
    assert (status, code(body)) == (422, "validation_error")
    status, body, _ = await api.post("/chat/rooms", {"name": "Hi", "member_ids": ["nobody"]}, token)
    assert (status, code(body)) == (404, "not_found")
    status, body, _ = await api.post("/chat/rooms", {"name": "Hi"})
    assert (status, code(body)) == (401, "unauthorized")


async def test_messages_get_gapless_seq_and_pages_both_ways(api: AuthClient) -> None:
    ada, token = await user(api, "ada")
    _, room, _ = await api.post("/chat/rooms", {"name": "General"}, token)
    rid = room["id"]
    for i in range(7):
        status, message, _ = await api.post(f"/chat/rooms/{rid}/messages", {"body": f"m{i}"}, token)
        assert status == 201
        assert message["seq"] == i + 1
        assert message["sender_id"] == ada
        assert "client_id" not in message

    status, page, _ = await api.get(f"/chat/rooms/{rid}/messages?limit=3", token)
    assert status == 200
    assert [m["seq"] for m in page["items"]] == [5, 6, 7]
    assert page["next_before"] == 5
    _, older, _ = await api.get(f"/chat/rooms/{rid}/messages?limit=3&before=5", token)
    assert [m["seq"] for m in older["items"]] == [2, 3, 4]
    _, oldest, _ = await api.get(f"/chat/rooms/{rid}/messages?limit=3&before=2", token)
    assert ([m["seq"] for m in oldest["items"]], oldest["next_before"]) == ([1], None)
    _, later, _ = await api.get(f"/chat/rooms/{rid}/messages?after=5", token)
    assert [m["seq"] for m in later["items"]] == [6, 7]
    _, rooms, _ = await api.get("/chat/rooms", token)
    assert rooms["items"][0]["last_seq"] == 7

    status, body, _ = await api.get(f"/chat/rooms/{rid}/messages?limit=101", token)
    assert (status, code(body)) == (422, "validation_error")
    for bad in ({"body": ""}, {"body": "x" * 4001}, {}):
        status, body, _ = await api.post(f"/chat/rooms/{rid}/messages", bad, token)
        assert (status, code(body)) == (422, "validation_error")


async def test_the_same_client_id_answers_200_with_the_first_message(api: AuthClient) -> None:
    _, token = await user(api, "ada")
    _, room, _ = await api.post("/chat/rooms", {"name": "General"}, token)
    path = f"/chat/rooms/{room['id']}/messages"
    status, first, _ = await api.post(path, {"body": "hello", "client_id": "c-1"}, token)
    assert status == 201
    assert first["client_id"] == "c-1"
    status, again, _ = await api.post(path, {"body": "hello (retry)", "client_id": "c-1"}, token)
    assert (status, again) == (200, first)
    _, page, _ = await api.get(path, token)
    assert [m["id"] for m in page["items"]] == [first["id"]]


async def test_a_second_user_gets_404_on_every_room_route(api: AuthClient) -> None:
    """IDOR: a room id that leaked is worth nothing to someone who is not in the room."""
    _, ada_token = await user(api, "ada")
    eve, eve_token = await user(api, "eve")
    _, room, _ = await api.post("/chat/rooms", {"name": "Secret"}, ada_token)
    rid = room["id"]
    await api.post(f"/chat/rooms/{rid}/messages", {"body": "the plan"}, ada_token)

    attempts = [
        api.get(f"/chat/rooms/{rid}/messages", eve_token),
        api.post(f"/chat/rooms/{rid}/messages", {"body": "hi"}, eve_token),
        api.post(f"/chat/rooms/{rid}/members", {"user_id": eve}, eve_token),
        api.get("/chat/rooms/no-such-room/messages", eve_token),
    ]
    for attempt in attempts:
        status, body, _ = await attempt
        assert (status, code(body)) == (404, "not_found")
    _, page, _ = await api.get(f"/chat/rooms/{rid}/messages", ada_token)
    assert [m["body"] for m in page["items"]] == ["the plan"]


async def test_a_member_invites_a_user_who_reads_the_room_once_they_accept(
    api: AuthClient,
) -> None:
    ada, ada_token = await user(api, "ada")
    bob, bob_token = await user(api, "bob")
    _, room, _ = await api.post("/chat/rooms", {"name": "General"}, ada_token)
    rid = room["id"]
    status, updated, _ = await api.post(f"/chat/rooms/{rid}/members", {"user_id": bob}, ada_token)
    assert status == 200
    assert (updated["member_ids"], updated["invited_ids"]) == ([ada], [bob])
    status, _, _ = await api.get(f"/chat/rooms/{rid}/messages", bob_token)
    assert status == 404
    await api.post(f"/chat/rooms/{rid}/accept", None, bob_token)
    status, _, _ = await api.get(f"/chat/rooms/{rid}/messages", bob_token)
    assert status == 200
    status, body, _ = await api.post(f"/chat/rooms/{rid}/members", {"user_id": "ghost"}, ada_token)
    assert (status, code(body)) == (404, "not_found")


async def test_an_email_invitation_answers_alike_and_only_the_verified_address_accepts(
    api: AuthClient,
) -> None:
    """The attack: inviting addresses to learn which have accounts. The two answers (and the
    rooms as their members read them) differ only in the hint of the address typed."""
    ada, ada_token = await user(api, "ada")
    bob, bob_token = await user(api, "bob")
    answers = []
    for address in ("bob@example.com", "nobody@example.com"):
        _, room, _ = await api.post("/chat/rooms", {"name": "General"}, ada_token)
        status, body, _ = await api.post(
            f"/chat/rooms/{room['id']}/email-invitations", {"email": address}, ada_token
        )
        assert status == 200, body
        assert body["invited_ids"] == [] and len(body["email_invitations"]) == 1
        answers.append((status, body))
    (_, seen), (_, unseen) = answers
    assert set(seen) == set(unseen)
    hints = [b["email_invitations"][0]["hint"] for _, b in answers]
    assert hints == ["b\u2026@example.com", "n\u2026@example.com"]
    ids = [b["email_invitations"][0]["id"] for _, b in answers]
    assert all(i.startswith("email:") and len(i) == len(ids[0]) and bob not in i for i in ids)

    status, invitations, _ = await api.get("/chat/invitations", bob_token)
    assert [r["id"] for r in invitations["items"]] == [seen["id"]]
    status, joined, _ = await api.post(f"/chat/rooms/{seen['id']}/accept", None, bob_token)
    assert status == 200 and bob in joined["member_ids"] and joined["email_invitations"] == []

    # an address invited before it has an account: answered once the account is verified
    newbie = await api.signed_up("nobody@example.com", "Newbie")
    newbie_token = newbie["access_token"]
    status, invitations, _ = await api.get("/chat/invitations", newbie_token)
    assert [r["id"] for r in invitations["items"]] == [unseen["id"]]
    # who is asking is named to the invitee, as for an invitation by id
    status, names, _ = await api.get(f"/users?ids={ada}", newbie_token)
    assert [u["name"] for u in names["items"]] == ["Ada"]
    status, _, _ = await api.post(f"/chat/rooms/{unseen['id']}/decline", None, newbie_token)
    assert status == 204
    status, body, _ = await api.post(f"/chat/rooms/{unseen['id']}/accept", None, newbie_token)
    assert (status, code(body)) == (404, "not_found")


async def test_email_invitations_refuse_bad_input_and_only_the_creator_withdraws(
    api: AuthClient,
) -> None:
    _, ada_token = await user(api, "ada")
    bob, bob_token = await user(api, "bob")
    _, eve_token = await user(api, "eve")
    _, room, _ = await api.post("/chat/rooms", {"name": "General", "member_ids": [bob]}, ada_token)
    rid = room["id"]
    await api.post(f"/chat/rooms/{rid}/accept", None, bob_token)
    for bad in ({"email": "not an address"}, {"email": ""}, {}, {"email": 7}):
        status, body, _ = await api.post(f"/chat/rooms/{rid}/email-invitations", bad, bob_token)
        assert (status, code(body)) == (422, "validation_error"), bad
    status, body, _ = await api.post(
        f"/chat/rooms/{rid}/email-invitations", {"email": "cy@example.com"}, eve_token
    )
    assert (status, code(body)) == (404, "not_found")  # not Eve's room
    _, invited, _ = await api.post(
        f"/chat/rooms/{rid}/email-invitations", {"email": "cy@example.com"}, bob_token
    )
    invitation = invited["email_invitations"][0]["id"]
    path = f"/chat/rooms/{rid}/email-invitations/{invitation}"
    status, body, _ = await api.send("DELETE", path, None, bob_token)
    assert (status, code(body)) == (403, "forbidden")
    status, body, _ = await api.send("DELETE", f"{path}x", None, ada_token)
    assert (status, code(body)) == (404, "not_found")
    status, body, _ = await api.send("DELETE", path, None, ada_token)
    assert status == 200 and body["email_invitations"] == []


async def test_presence_answers_for_users_sharing_a_room_only(api: AuthClient) -> None:
    ada, ada_token = await user(api, "ada")
    bob, bob_token = await user(api, "bob")
    eve, _ = await user(api, "eve")
    _, room, _ = await api.post(
        "/chat/rooms", {"name": "Sim", "member_ids": [bob], "simulated": True}, ada_token
    )
    await api.post(f"/chat/rooms/{room['id']}/accept", None, bob_token)
    peer = next(m for m in room["member_ids"] if m not in (ada, bob))
    await api.container.services.chat().socket_connected(bob)  # a socket of bob's
    status, body, _ = await api.get(f"/presence?user_ids={bob},{eve},{peer},{ada}", ada_token)
    assert status == 200
    assert body == {bob: "online", peer: "online", ada: "offline"}


async def test_more_than_20_messages_in_10_s_answer_429(api: AuthClient) -> None:
    _, token = await user(api, "ada")
    _, room, _ = await api.post("/chat/rooms", {"name": "General"}, token)
    path = f"/chat/rooms/{room['id']}/messages"
    for i in range(20):
        assert (await api.post(path, {"body": f"m{i}"}, token))[0] == 201
    status, body, headers = await api.post(path, {"body": "too many"}, token)
    assert (status, code(body)) == (429, "too_many_requests")
    assert int(headers["Retry-After"]) >= 1


async def test_the_openapi_document_describes_the_chat_routes(api: AuthClient) -> None:
    spec = await (await api.client.get("/openapi.json")).get_json()
    paths = spec["paths"]
    rooms, messages = paths["/api/v1/chat/rooms"], paths["/api/v1/chat/rooms/{room_id}/messages"]
    assert {"201", "401", "404", "422"} <= set(rooms["post"]["responses"])
    assert "200" in rooms["get"]["responses"]
    assert {"200", "201", "404", "422", "429"} <= set(messages["post"]["responses"])
    params = {p["name"] for p in messages["get"]["parameters"]}
    assert {"before", "after", "limit"} <= params
    assert "404" in paths["/api/v1/chat/rooms/{room_id}/members"]["post"]["responses"]
    assert "user_ids" in {p["name"] for p in paths["/api/v1/presence"]["get"]["parameters"]}
    assert messages["get"]["security"] == [{"bearer": []}]


async def test_the_sender_edits_and_deletes_over_http_and_others_cannot(
    api: AuthClient,
) -> None:
    _, ada_token = await user(api, "ada")
    bob, bob_token = await user(api, "bob")
    _, eve_token = await user(api, "eve")
    status, room, _ = await api.post(
        "/chat/rooms", {"name": "Edits", "member_ids": [bob]}, ada_token
    )
    rid = room["id"]
    await api.post(f"/chat/rooms/{rid}/accept", None, bob_token)
    status, sent, _ = await api.post(f"/chat/rooms/{rid}/messages", {"body": "helo"}, ada_token)
    assert status == 201
    path = f"/chat/rooms/{rid}/messages/{sent['id']}"

    status, edited, _ = await api.send(
        "PATCH", path, {"body": "hello", "client_id": "e1"}, ada_token
    )
    assert status == 200, edited
    assert (edited["body"], edited["seq"], edited["id"]) == ("hello", sent["seq"], sent["id"])
    assert edited["edited_at"].endswith("Z") and "deleted" not in edited
    status, again, _ = await api.send(
        "PATCH", path, {"body": "hello", "client_id": "e1"}, ada_token
    )
    assert (status, again) == (200, edited)

    status, body, _ = await api.send("PATCH", path, {"body": "mine now"}, bob_token)
    assert (status, code(body)) == (403, "forbidden")
    status, body, _ = await api.send("DELETE", path, None, bob_token)
    assert (status, code(body)) == (403, "forbidden")
    for method, payload in (("PATCH", {"body": "x"}), ("DELETE", None)):
        status, body, _ = await api.send(method, path, payload, eve_token)
        assert (status, code(body)) == (404, "not_found")  # not in the room
    status, body, _ = await api.send("PATCH", path, {"body": ""}, ada_token)
    assert (status, code(body)) == (422, "validation_error")
    status, body, _ = await api.send(
        "PATCH", f"/chat/rooms/{rid}/messages/nope", {"body": "x"}, ada_token
    )
    assert (status, code(body)) == (404, "not_found")

    status, tombstone, _ = await api.send("DELETE", path, None, ada_token)
    assert status == 200
    assert (tombstone["deleted"], tombstone["body"], tombstone["seq"]) == (True, "", sent["seq"])
    status, body, _ = await api.send("DELETE", path, None, ada_token)
    assert (status, body) == (200, tombstone)
    status, body, _ = await api.send("PATCH", path, {"body": "back"}, ada_token)
    assert (status, code(body)) == (409, "conflict")
    status, page, _ = await api.get(f"/chat/rooms/{rid}/messages?after=0", bob_token)
    assert [(m["seq"], m.get("deleted"), m["body"]) for m in page["items"]] == [(1, True, "")]


async def test_past_the_edit_window_an_edit_is_409(make_app: AppFactory) -> None:
    app, container = make_app({"MESSAGE_EDIT_WINDOW_S": "0"})
    use_fast_hasher(container)
    async with app.test_app() as test_app:
        api = AuthClient(test_app.test_client(), container)
        _, token = await user(api, "ada")
        _, room, _ = await api.post("/chat/rooms", {"name": "Late"}, token)
        _, sent, _ = await api.post(f"/chat/rooms/{room['id']}/messages", {"body": "a"}, token)
        await asyncio.sleep(0.01)
        path = f"/chat/rooms/{room['id']}/messages/{sent['id']}"
        status, body, _ = await api.send("PATCH", path, {"body": "b"}, token)
        assert (status, code(body)) == (409, "edit_window_closed")
        status, body, _ = await api.send("DELETE", path, None, token)
        assert status == 200 and body["deleted"] is True  # deleting has no window


async def test_read_state_unread_counts_and_receipts_over_http(api: AuthClient) -> None:
    ada, ada_token = await user(api, "ada")
    bob, bob_token = await user(api, "bob")
    _, room, _ = await api.post("/chat/rooms", {"name": "Reads", "member_ids": [bob]}, ada_token)
    rid = room["id"]
    await api.post(f"/chat/rooms/{rid}/accept", None, bob_token)
    for n in range(3):
        await api.post(f"/chat/rooms/{rid}/messages", {"body": f"m{n}"}, ada_token)
    _, rooms, _ = await api.get("/chat/rooms", bob_token)
    [listed] = rooms["items"]
    assert (listed["last_read_seq"], listed["unread_count"]) == (0, 3)
    status, read, _ = await api.post(f"/chat/rooms/{rid}/read", {"seq": 2}, bob_token)
    assert (status, read) == (200, {"room_id": rid, "last_read_seq": 2, "unread_count": 1})
    status, body, _ = await api.post(f"/chat/rooms/{rid}/read", {"seq": -1}, bob_token)
    assert (status, code(body)) == (422, "validation_error")
    status, seen, _ = await api.get(f"/chat/rooms/{rid}/receipts", ada_token)
    assert status == 200
    assert {(r["user_id"], r["seq"]) for r in seen["items"]} == {(ada, 3), (bob, 2)}  # her own


# attachments --------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def files_api(make_app: AppFactory) -> AsyncIterator[FilesClient]:
    app, container = make_app({})
    use_fast_hasher(container)
    async with app.test_app() as test_app:
        yield FilesClient(test_app.test_client(), container)


async def a_joined_room(api: AuthClient) -> tuple[str, str, str, str, str]:
    """Ada's room with Bob in it; Eve a stranger: (room, ada's, bob's, eve's token, bob)."""
    _, ada_token = await user(api, "ada")
    bob, bob_token = await user(api, "bob")
    _, eve_token = await user(api, "eve")
    _, room, _ = await api.post("/chat/rooms", {"name": "Pics", "member_ids": [bob]}, ada_token)
    await api.post(f"/chat/rooms/{room['id']}/accept", None, bob_token)
    return room["id"], ada_token, bob_token, eve_token, bob


async def test_a_member_reads_and_downloads_an_attachment_a_stranger_404(
    files_api: FilesClient,
) -> None:
    api = files_api
    room, ada_token, bob_token, eve_token, _ = await a_joined_room(api)
    image = png(600, 400)
    status, photo = await api.upload(ada_token, image, "Grüße.png", "image/png")
    assert status == 201, photo
    status, notes = await api.upload(ada_token, TEXT, "notes.txt", "text/plain")
    body = {"body": "look", "attachment_ids": [photo["id"], notes["id"]]}
    status, sent, _ = await api.post(f"/chat/rooms/{room}/messages", body, ada_token)
    assert status == 201, sent
    assert sent["attachments"] == [
        {"id": photo["id"], "name": "Grüße.png", "content_type": "image/png",
         "size": len(image), "deleted": False},
        {"id": notes["id"], "name": "notes.txt", "content_type": "text/plain",
         "size": len(TEXT), "deleted": False},
    ]  # fmt: skip
    _, page, _ = await api.get(f"/chat/rooms/{room}/messages", bob_token)
    assert page["items"][0]["attachments"] == sent["attachments"]

    status, meta, _ = await api.get(f"/chat/rooms/{room}/attachments/{photo['id']}", bob_token)
    assert status == 200, meta
    assert (meta["id"], meta["name"], meta["status"]) == (photo["id"], "Grüße.png", "ready")
    assert [t["size"] for t in meta["thumbnails"]] == [256, 64]
    assert (await api.fetch(meta["download_url"]))[1] == image
    thumb = await api.fetch(meta["thumbnails"][0]["url"])
    assert (thumb[0], thumb[2]["Content-Type"]) == (200, "image/webp")

    for path in (f"/files/{photo['id']}", f"/chat/rooms/{room}/attachments/{photo['id']}"):
        status, refused, _ = await api.get(path, eve_token)  # not hers, not in the room
        assert (status, code(refused)) == (404, "not_found")
    _, eves_room, _ = await api.post("/chat/rooms", {"name": "Eve's"}, eve_token)
    path = f"/chat/rooms/{eves_room['id']}/attachments/{photo['id']}"
    assert (await api.get(path, eve_token))[0] == 404  # no message of her room attaches it
    status, _, _ = await api.get(f"/chat/rooms/{room}/attachments/nope", bob_token)
    assert status == 404


async def test_only_the_senders_ready_files_attach_at_most_four(files_api: FilesClient) -> None:
    api = files_api
    room, ada_token, bob_token, _, _ = await a_joined_room(api)
    _, bobs = await api.upload(bob_token, TEXT, "bob.txt", "text/plain")
    _, mine = await api.upload(ada_token, TEXT, "ada.txt", "text/plain")
    _, ticket, _ = await api.post(
        "/files/uploads", {"name": "p.txt", "size": 5, "content_type": "text/plain"}, ada_token
    )
    pending = ticket["file"]["id"]
    for other in (bobs["id"], pending, "nope"):
        body = {"body": "x", "attachment_ids": [mine["id"], other]}
        status, refused, _ = await api.post(f"/chat/rooms/{room}/messages", body, ada_token)
        assert (status, code(refused)) == (404, "not_found"), refused
        assert refused["error"]["message"] == f"No such file: {other}."  # not whose it is
    five = {"body": "x", "attachment_ids": [mine["id"]] * 4 + [bobs["id"]]}
    status, refused, _ = await api.post(f"/chat/rooms/{room}/messages", five, ada_token)
    assert (status, code(refused)) == (422, "validation_error")
    _, page, _ = await api.get(f"/chat/rooms/{room}/messages", bob_token)
    assert page["items"] == []  # nothing was sent
    status, sent, _ = await api.post(f"/chat/rooms/{room}/messages", {"body": "plain"}, ada_token)
    assert status == 201 and "attachments" not in sent  # omitted when there are none


async def test_a_deleted_file_is_marked_edits_keep_and_a_delete_drops_attachments(
    files_api: FilesClient,
) -> None:
    api = files_api
    room, ada_token, bob_token, _, _ = await a_joined_room(api)
    _, one = await api.upload(ada_token, TEXT, "one.txt", "text/plain")
    _, two = await api.upload(ada_token, TEXT, "two.txt", "text/plain")
    body = {"body": "files", "attachment_ids": [one["id"], two["id"]]}
    _, sent, _ = await api.post(f"/chat/rooms/{room}/messages", body, ada_token)
    status, _, _ = await api.send("DELETE", f"/files/{one['id']}", None, ada_token)
    assert status == 204
    _, page, _ = await api.get(f"/chat/rooms/{room}/messages", bob_token)
    [shown] = page["items"]
    assert [(a["name"], a["deleted"]) for a in shown["attachments"]] == [
        ("one.txt", True),
        ("two.txt", False),
    ]
    assert (await api.get(f"/chat/rooms/{room}/attachments/{one['id']}", bob_token))[0] == 404
    path = f"/chat/rooms/{room}/messages/{sent['id']}"
    status, edited, _ = await api.send("PATCH", path, {"body": "edited"}, ada_token)
    assert status == 200 and edited["attachments"] == shown["attachments"]
    status, tombstone, _ = await api.send("DELETE", path, None, ada_token)
    assert status == 200 and tombstone["deleted"] is True and "attachments" not in tombstone
    _, page, _ = await api.get(f"/chat/rooms/{room}/messages", bob_token)
    assert "attachments" not in page["items"][0]
    assert (await api.get(f"/chat/rooms/{room}/attachments/{two['id']}", bob_token))[0] == 404
