"""Authorization sweep, generated from the route table and the Socket.IO handler registry.

User A owns a file, a pending upload, a room with a message in it, sessions. User B, with a
valid token of their own, tries every route that names a resource id with A's ids: every one
answers 404 `not_found` (a Socket.IO event: an error ack `not_found`), and A's resources are
untouched. The routes come from the app's own URL map (path parameters) and OpenAPI document
(id-like fields of bodies and query strings), the events from the server's handler registry:
a route, field or event that the tables below do not cover fails the sweep, so a new one cannot
be forgotten. Every 🔒 operation also answers 401 without a token, except the admin API's,
which answers anyone but an administrator (B, no token, a bad one) as an unknown route does:
404 `not_found`, every one of its routes taken from the URL map.

Run on both shapes: the real services (MongoDB, Redis, S3 on moto), where ownership is a query
of the database, and the development shape (memory adapters, which also serve presigned URLs).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio
from quart import Quart

from config.container import build_container
from config.settings import load_settings
from entrypoints.http.app import create_http_app
from entrypoints.realtime.server import chat_namespace, create_realtime_server
from tests.api.files_client import PNG, file_part, multipart
from tests.api.realtime_client import Account, call, connect, sign_up
from tests.fuzz.conftest import BUCKET, SECRETS
from tests.fuzz.served import Served, served
from tests.support.webauthn import ORIGIN, SoftAuthenticator

pytestmark = pytest.mark.fuzz

BOUNDARY = "----FlowHubTestBoundary7MA4YWxkTrZu0gW"
ID_FIELD = re.compile(r"(^ids?$|_id$|_ids$|_token$|^token$|^cursor$|^challenge$)")


@dataclass
class Owned:
    """What user A owns, and how to reach it."""

    a: Account
    refresh_token: str
    file_id: str
    pending_id: str
    multipart_id: str  # a multipart upload in progress, one part sent
    room_id: str
    message_id: str
    message_client_id: str
    download_url: str
    upload_url: str
    part_url: str
    cursor: str
    passkey_id: str

    @property
    def session_id(self) -> str:
        """A's session: a refresh token is `<session id>.<generation>.<mac>`."""
        return self.refresh_token.split(".", 1)[0]


type PathProbe = Callable[[Owned, Account], tuple[dict[str, str], object]]

# Every (method, rule) with a path parameter: the parameters that name A's resource, and the
# JSON body B sends (None: no body). B must get 404 not_found.
PATH_SWEEP: dict[tuple[str, str], PathProbe] = {
    # B names A's session: 404, and A's session lives on (assert_a_untouched refreshes with it)
    ("DELETE", "/api/v1/auth/sessions/<session_id>"): lambda o, b: (
        {"session_id": o.session_id},
        None,
    ),
    # B names A's passkey: 404, and it stays A's, under its name (assert_a_untouched)
    ("PATCH", "/api/v1/auth/passkeys/<passkey_id>"): lambda o, b: (
        {"passkey_id": o.passkey_id},
        {"name": "renamed by B"},
    ),
    ("DELETE", "/api/v1/auth/passkeys/<passkey_id>"): lambda o, b: (
        {"passkey_id": o.passkey_id},
        None,
    ),
    ("GET", "/api/v1/files/<file_id>"): lambda o, b: ({"file_id": o.file_id}, None),
    ("DELETE", "/api/v1/files/<file_id>"): lambda o, b: ({"file_id": o.file_id}, None),
    ("GET", "/api/v1/files/<file_id>/download"): lambda o, b: ({"file_id": o.file_id}, None),
    ("PATCH", "/api/v1/files/<file_id>"): lambda o, b: ({"file_id": o.file_id}, {"public": True}),
    ("POST", "/api/v1/files/<file_id>/complete"): lambda o, b: ({"file_id": o.pending_id}, None),
    ("GET", "/api/v1/files/<file_id>/multipart"): lambda o, b: ({"file_id": o.multipart_id}, None),
    ("DELETE", "/api/v1/files/<file_id>/multipart"): lambda o, b: (
        {"file_id": o.multipart_id},
        None,
    ),
    ("POST", "/api/v1/files/<file_id>/multipart/parts"): lambda o, b: (
        {"file_id": o.multipart_id},
        {"part_numbers": [1]},
    ),
    ("POST", "/api/v1/files/<file_id>/multipart/complete"): lambda o, b: (
        {"file_id": o.multipart_id},
        {"parts": [{"part_number": 1, "etag": "x"}]},
    ),
    ("GET", "/api/v1/chat/rooms/<room_id>/messages"): lambda o, b: ({"room_id": o.room_id}, None),
    ("POST", "/api/v1/chat/rooms/<room_id>/messages"): lambda o, b: (
        {"room_id": o.room_id},
        {"body": "from B", "client_id": o.message_client_id},
    ),
    ("PATCH", "/api/v1/chat/rooms/<room_id>/messages/<message_id>"): lambda o, b: (
        {"room_id": o.room_id, "message_id": o.message_id},
        {"body": "edited by B"},
    ),
    ("DELETE", "/api/v1/chat/rooms/<room_id>/messages/<message_id>"): lambda o, b: (
        {"room_id": o.room_id, "message_id": o.message_id},
        None,
    ),
    ("POST", "/api/v1/chat/rooms/<room_id>/members"): lambda o, b: (
        {"room_id": o.room_id},
        {"user_id": b.user_id},
    ),
    ("DELETE", "/api/v1/chat/rooms/<room_id>/members/<user_id>"): lambda o, b: (
        {"room_id": o.room_id, "user_id": o.a.user_id},
        None,
    ),
    ("POST", "/api/v1/chat/rooms/<room_id>/email-invitations"): lambda o, b: (
        {"room_id": o.room_id},
        {"email": "someone@example.com"},
    ),
    # the room is checked first: whichever invitation B names, A's room is not B's
    ("DELETE", "/api/v1/chat/rooms/<room_id>/email-invitations/<invitation_id>"): lambda o, b: (
        {"room_id": o.room_id, "invitation_id": "email:" + "0" * 32},
        None,
    ),
    # B is not invited: no invitation of A's room to accept or decline
    ("POST", "/api/v1/chat/rooms/<room_id>/accept"): lambda o, b: ({"room_id": o.room_id}, None),
    ("POST", "/api/v1/chat/rooms/<room_id>/decline"): lambda o, b: ({"room_id": o.room_id}, None),
    ("POST", "/api/v1/chat/rooms/<room_id>/leave"): lambda o, b: ({"room_id": o.room_id}, None),
    ("POST", "/api/v1/chat/rooms/<room_id>/read"): lambda o, b: (
        {"room_id": o.room_id},
        {"seq": 1},
    ),
    ("GET", "/api/v1/chat/rooms/<room_id>/receipts"): lambda o, b: ({"room_id": o.room_id}, None),
    # A's message attaches A's file: B is not in the room
    ("GET", "/api/v1/chat/rooms/<room_id>/attachments/<file_id>"): lambda o, b: (
        {"room_id": o.room_id, "file_id": o.file_id},
        None,
    ),
    # the admin API: B is no administrator, so A is neither disabled, signed out nor deleted
    ("POST", "/api/v1/admin/users/<user_id>/disable"): lambda o, b: (
        {"user_id": o.a.user_id},
        None,
    ),
    ("POST", "/api/v1/admin/users/<user_id>/enable"): lambda o, b: ({"user_id": o.a.user_id}, None),
    ("POST", "/api/v1/admin/users/<user_id>/sessions/end"): lambda o, b: (
        {"user_id": o.a.user_id},
        None,
    ),
    ("DELETE", "/api/v1/admin/users/<user_id>"): lambda o, b: ({"user_id": o.a.user_id}, None),
}
ADMIN = "admin-sweep@example.com"  # ADMIN_EMAILS of the served app
ADMIN_PREFIX = "/api/v1/admin/"

# Routes whose path parameter is a capability, not a resource id: the signed token is the
# permission (like an S3 presigned URL), there is no bearer token to swap. The sweep instead
# tampers with A's token: 403.
CAPABILITY_ROUTES = {
    ("GET", "/api/v1/files/blob/<token>"),
    ("POST", "/api/v1/files/blob/<token>"),
    ("PUT", "/api/v1/files/blob/<token>"),  # a multipart upload's part
    # a public image's copy (development storage): its key holds 128 random bits, and only
    # keys under public/ are served (tests/contract/test_blob_storage.py)
    ("GET", "/api/v1/files/blob/public/<path:rest>"),
}

# Routes whose path parameter names no one's data: the reference web client's public static
# files (entrypoints/http/web.py; the same bytes for everyone, traversal refused by
# tests/api/test_web_client.py).
PUBLIC_ROUTES = {("GET", "/client/<folder>/<path:name>")}

# `<provider>` names a configured sign-in provider (public configuration, not anyone's
# resource); a provider identity is exercised by tests/api/test_federation_api.py's
# test_another_users_identity_is_404 against an identity A linked through a real OpenID
# provider, which the sweep's server has none of.
PROVIDER_ROUTES = {
    ("GET", "/api/v1/auth/oauth/<provider>/start"),
    ("GET", "/api/v1/auth/oauth/<provider>/callback"),
    ("POST", "/api/v1/auth/oauth/<provider>/link"),
    ("DELETE", "/api/v1/auth/identities/<identity_id>"),
}

# Every id-like field of a body or query string (by operation and field) and why B cannot use
# A's value to reach A's data; each is exercised in test_id_fields_of_bodies_and_queries.
ID_FIELDS: dict[tuple[str, str, str], str] = {
    ("POST", "/api/v1/chat/rooms", "member_ids"): "B's new room holds none of A's messages",
    ("POST", "/api/v1/chat/rooms/{room_id}/members", "user_id"): "the room is checked first: 404",
    ("POST", "/api/v1/chat/rooms/{room_id}/messages", "client_id"): "idempotency is per sender",
    ("POST", "/api/v1/chat/rooms/{room_id}/messages", "attachment_ids"): (
        "only the sender's own files attach: A's file is 404, in B's own room too"
    ),
    ("PATCH", "/api/v1/chat/rooms/{room_id}/messages/{message_id}", "client_id"): (
        "an edit's own id, compared on a message the caller sent"
    ),
    ("PATCH", "/api/v1/users/me", "avatar_file_id"): (
        "only the caller's own images: A's file is 404 and stays private"
    ),
    ("GET", "/api/v1/presence", "user_ids"): "users sharing no room with B are left out",
    ("GET", "/api/v1/users", "ids"): "users sharing no room with B are left out, as unknown ids",
    ("GET", "/api/v1/files", "cursor"): "A's cursor lists B's files, or is refused",
    ("GET", "/api/v1/chat/rooms", "cursor"): "a room id of A's is no cursor of B's: refused",
    ("POST", "/api/v1/auth/logout", "refresh_token"): "A's session is not B's to revoke",
    ("POST", "/api/v1/auth/refresh", "refresh_token"): "a bearer credential: its holder owns it",
    ("POST", "/api/v1/auth/password/reset", "reset_token"): "a bearer credential, from A's email",
    ("POST", "/api/v1/auth/mfa", "challenge"): (
        "signed and bound to A (after A's password): one naming A that B makes is refused"
    ),
}

# Socket.IO events: the payload naming A's room. B gets an error ack `not_found`.
EVENT_SWEEP: dict[str, Callable[[Owned], dict[str, object]]] = {
    "message:send": lambda o: {"room_id": o.room_id, "body": "from B"},
    "message:edit": lambda o: {"room_id": o.room_id, "message_id": o.message_id, "body": "B"},
    "message:delete": lambda o: {"room_id": o.room_id, "message_id": o.message_id},
    "typing": lambda o: {"room_id": o.room_id, "is_typing": True},
    "room:join": lambda o: {"room_id": o.room_id},
    "room:read": lambda o: {"room_id": o.room_id, "seq": 1},
}
# Socket.IO events that name no one's resource: `auth:renew` carries the caller's own token
# (another user's is refused: tests/integration/test_revocation_attacks.py).
OWN_EVENTS = {"auth:renew"}


def http_app(env: dict[str, str]) -> Quart:
    return create_http_app(
        build_container(load_settings({"APP_ENV": "development", "TRUSTED_PROXY": "fly", **env}))
    )


async def openapi_of(app: Quart) -> dict[str, Any]:
    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/openapi.json")
        spec: dict[str, Any] = await response.get_json()
        return spec


def routes_with_parameters(app: Quart) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.arguments and rule.endpoint != "static"
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def id_fields(spec: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(METHOD, path, field) for every id-like query parameter or JSON body property."""
    schemas = spec.get("components", {}).get("schemas", {})
    found = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", ()) if p["in"] == "query"]
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                schema = media.get("schema", {})
                if "$ref" in schema:
                    schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
                names += list(schema.get("properties", {}))
            found |= {(method.upper(), path, n) for n in names if ID_FIELD.search(n)}
    return found


SHAPES = ("memory", "real")


async def test_every_route_and_event_naming_an_id_is_in_the_sweep() -> None:
    for env in (
        {},
        {"S3_BUCKET_NAME": BUCKET, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"},
    ):
        app = http_app(env)
        missing = routes_with_parameters(app) - set(PATH_SWEEP) - CAPABILITY_ROUTES - PUBLIC_ROUTES
        missing -= PROVIDER_ROUTES
        assert missing == set(), f"routes with a path parameter not in PATH_SWEEP: {missing}"
        fields = id_fields(await openapi_of(app)) - set(ID_FIELDS)
        fields -= {(m, p, f) for m, p, f in fields if p.startswith("/api/v1/files/blob/")}
        assert fields == set(), f"id-like body/query fields not in ID_FIELDS: {fields}"
    sio = create_realtime_server(build_container(load_settings({"APP_ENV": "test"})))
    events = set(chat_namespace(sio).EVENTS)
    assert events - OWN_EVENTS == set(EVENT_SWEEP), f"events not in EVENT_SWEEP: {events}"


@pytest.fixture(scope="module", params=SHAPES)
def shape(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def app(shape: str, request: pytest.FixtureRequest) -> Iterator[Served]:
    # A's every resource is checked after each probe: more requests a minute than a user's 120
    env = {
        "APP_ENV": "development",
        "API_REQUESTS_PER_MINUTE": "1000",
        "ADMIN_EMAILS": ADMIN,
        "WEBAUTHN_ORIGINS": ORIGIN,  # the software authenticator's (no browser here)
        **SECRETS,
    }
    if shape == "real":  # tests/fuzz/conftest.py
        env |= request.getfixturevalue("real_env")
    with served("tests.support.server_app", env) as kept:
        yield kept
        assert kept.errors() == []


async def login_pair(app: Served, email: str) -> tuple[Account, str]:
    account = await sign_up(app.url, email, "Ada")
    async with httpx.AsyncClient(base_url=f"{app.url}/api/v1", timeout=10) as http:
        response = await http.post(
            "/auth/login",
            json={"email": email, "password": "correct horse battery"},
            headers={"Fly-Client-IP": f"10.99.{time.time_ns() % 250}.1"},
        )
        assert response.status_code == 200, response.text
        return account, str(response.json()["refresh_token"])


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def owned(app: Served) -> AsyncIterator[Owned]:
    a, refresh = await login_pair(app, f"owner-a-{time.time_ns()}@example.com")
    auth = {"Authorization": f"Bearer {a.token}"}
    async with httpx.AsyncClient(base_url=f"{app.url}/api/v1", timeout=10, headers=auth) as http:
        form = multipart(file_part(PNG, "a.png", "image/png"))
        content_type = f"multipart/form-data; boundary={BOUNDARY}"
        for _ in range(2):  # two files: a cursor to a second page
            uploaded = await http.post(
                "/files", content=form, headers={"Content-Type": content_type}
            )
            assert uploaded.status_code == 201, uploaded.text
        file_id = uploaded.json()["id"]
        page = (await http.get("/files", params={"limit": 1})).json()
        ticket = await http.post(
            "/files/uploads", json={"name": "b.png", "size": len(PNG), "content_type": "image/png"}
        )
        assert ticket.status_code == 201, ticket.text
        started = await http.post(
            "/files/multipart",
            json={"name": "c.png", "size": len(PNG), "content_type": "image/png"},
        )
        assert started.status_code == 201, started.text
        multipart_id = started.json()["file"]["id"]
        urls = await http.post(f"/files/{multipart_id}/multipart/parts", json={"part_numbers": [1]})
        assert urls.status_code == 200, urls.text
        part_url = urls.json()["parts"][0]["url"]
        async with httpx.AsyncClient(timeout=10) as raw:
            assert (await raw.put(part_url, content=PNG)).status_code == 200
        meta = (await http.get(f"/files/{file_id}")).json()
        room = await http.post("/chat/rooms", json={"name": "A's room"})
        room_id = room.json()["id"]
        sent = await http.post(
            f"/chat/rooms/{room_id}/messages",
            json={"body": "A's secret", "client_id": "a-1", "attachment_ids": [file_id]},
        )
        assert sent.status_code == 201
        options = (await http.post("/auth/passkeys/register/options")).json()["options"]
        credential = SoftAuthenticator().create(options)
        passkey = await http.post(
            "/auth/passkeys/register", json={"name": "A's key", "credential": credential}
        )
        assert passkey.status_code == 201, passkey.text
    yield Owned(
        a=a,
        refresh_token=refresh,
        file_id=file_id,
        pending_id=ticket.json()["file"]["id"],
        multipart_id=multipart_id,
        room_id=room_id,
        message_id=sent.json()["id"],
        message_client_id="a-1",
        download_url=meta["download_url"],
        upload_url=ticket.json()["upload"]["url"],
        part_url=part_url,
        cursor=page["next_cursor"],
        passkey_id=passkey.json()["id"],
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def intruder(app: Served) -> Account:
    return await sign_up(app.url, f"intruder-b-{time.time_ns()}@example.com", "Bob")


def fill(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values[m.group(1)], rule)


async def assert_a_untouched(app: Served, o: Owned) -> None:
    status, meta = await call(app.url, o.a, "GET", f"/files/{o.file_id}")
    assert status == 200 and meta["status"] == "ready"
    status, pending = await call(app.url, o.a, "GET", f"/files/{o.pending_id}")
    assert status == 200 and pending["status"] == "pending"
    status, progress = await call(app.url, o.a, "GET", f"/files/{o.multipart_id}/multipart")
    assert status == 200 and [p["part_number"] for p in progress["parts"]] == [1]
    status, page = await call(app.url, o.a, "GET", f"/chat/rooms/{o.room_id}/messages")
    assert status == 200 and [m["body"] for m in page["items"]] == ["A's secret"]
    _, rooms = await call(app.url, o.a, "GET", "/chat/rooms")
    [room] = [r for r in rooms["items"] if r["id"] == o.room_id]
    assert room["member_ids"] == [o.a.user_id]
    _, passkeys = await call(app.url, o.a, "GET", "/auth/passkeys")
    assert [(p["id"], p["name"]) for p in passkeys["items"]] == [(o.passkey_id, "A's key")]


@pytest.mark.parametrize("route", sorted(PATH_SWEEP), ids=lambda r: f"{r[0]} {r[1]}")
async def test_another_users_id_in_the_path_is_404(
    app: Served, owned: Owned, intruder: Account, route: tuple[str, str]
) -> None:
    method, rule = route
    values, body = PATH_SWEEP[route](owned, intruder)
    path = fill(rule, values).removeprefix("/api/v1")
    status, answer = await call(app.url, intruder, method, path, body)
    assert status == 404, (route, status, answer)
    assert answer["error"]["code"] == "not_found"
    assert owned.room_id not in str(answer) and owned.file_id not in str(answer["error"]["message"])
    await assert_a_untouched(app, owned)


async def test_a_tampered_capability_url_is_403(app: Served, owned: Owned) -> None:
    paths = {"GET": owned.download_url, "POST": owned.upload_url, "PUT": owned.part_url}
    async with httpx.AsyncClient(timeout=10) as http:
        for method, url in paths.items():
            if not urlsplit(url).path.startswith("/api/v1/files/blob/"):
                continue  # real shape: the URL is S3's own presigned one (tested by moto's rules)
            token = url.rsplit("/", 1)[1]
            flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
            response = await http.request(method, url.replace(token, flipped))
            assert response.status_code == 403, (method, response.text)
            assert response.json()["error"]["code"] == "forbidden"


async def test_id_fields_of_bodies_and_queries(
    app: Served, owned: Owned, intruder: Account
) -> None:
    b = intruder
    # member_ids: B may start a room with A in it (how rooms are made); it holds nothing of A's
    status, room = await call(
        app.url, b, "POST", "/chat/rooms", {"name": "B's", "member_ids": [owned.a.user_id]}
    )
    assert status == 201 and room["id"] != owned.room_id and room["last_seq"] == 0
    # client_id: A's client_id in B's room is a new message of B's, not A's message
    status, message = await call(
        app.url,
        b,
        "POST",
        f"/chat/rooms/{room['id']}/messages",
        {"body": "hi", "client_id": owned.message_client_id},
    )
    assert status == 201 and message["sender_id"] == b.user_id and message["body"] == "hi"
    # attachment_ids: A's file attaches to no message of B's, in B's own room
    status, refused = await call(
        app.url,
        b,
        "POST",
        f"/chat/rooms/{room['id']}/messages",
        {"body": "A's file?", "attachment_ids": [owned.file_id]},
    )
    assert (status, refused["error"]["code"]) == (404, "not_found")
    assert owned.a.user_id not in refused["error"]["message"]
    status, page = await call(app.url, b, "GET", f"/chat/rooms/{room['id']}/messages")
    assert [m["body"] for m in page["items"]] == ["hi"]  # nothing sent
    path = f"/chat/rooms/{room['id']}/attachments/{owned.file_id}"
    status, refused = await call(app.url, b, "GET", path)  # nor can B read it through a room
    assert (status, refused["error"]["code"]) == (404, "not_found")
    # avatar_file_id: A's image is no avatar of B's, nor made public through one
    status, refused = await call(
        app.url, b, "PATCH", "/users/me", {"avatar_file_id": owned.file_id}
    )
    assert (status, refused["error"]["code"]) == (404, "not_found")
    status, me = await call(app.url, b, "GET", "/users/me")
    assert status == 200 and "avatar_url" not in me
    status, meta = await call(app.url, owned.a, "GET", f"/files/{owned.file_id}")
    assert status == 200 and meta["public"] is False and "public_url" not in meta
    # cursor of rooms: A's room id does not page B's rooms
    status, rooms = await call(app.url, b, "GET", f"/chat/rooms?cursor={owned.room_id}")
    assert (status, rooms["error"]["code"]) == (400, "invalid_cursor")
    # user_ids: no room shared before this test's room... A is invited to B's: a fresh user
    stranger = await sign_up(app.url, f"stranger-{time.time_ns()}@example.com", "Cy")
    status, presence = await call(app.url, b, "GET", f"/presence?user_ids={stranger.user_id}")
    assert (status, presence) == (200, {})
    # ids: a user sharing no room with B is absent, as an unknown id is; A (in B's room) is named
    status, found = await call(app.url, b, "GET", f"/users?ids={stranger.user_id},nobody")
    assert (status, found) == (200, {"items": []})
    status, found = await call(app.url, b, "GET", f"/users?ids={owned.a.user_id}")
    assert (status, found) == (200, {"items": [{"id": owned.a.user_id, "name": "Ada"}]})
    # cursor: A's cursor never lists A's files to B
    status, page = await call(app.url, b, "GET", f"/files?cursor={owned.cursor}")
    assert status in (200, 400), page
    if status == 200:
        assert all(f["id"] != owned.file_id for f in page["items"])
        assert page["items"] == []
    else:
        assert page["error"]["code"] == "invalid_cursor"
    # refresh_token: B cannot revoke A's session with it
    status, _ = await call(
        app.url, b, "POST", "/auth/logout", {"refresh_token": owned.refresh_token}
    )
    assert status == 204  # quietly, as for any token that is not the caller's
    async with httpx.AsyncClient(base_url=f"{app.url}/api/v1", timeout=10) as http:
        refreshed = await http.post("/auth/refresh", json={"refresh_token": owned.refresh_token})
    assert refreshed.status_code == 200, "B's logout revoked A's session"
    assert refreshed.json()["user"]["id"] == owned.a.user_id
    owned.refresh_token = refreshed.json()["refresh_token"]
    # challenge: B cannot make one of A's (it is signed), so no code of B's reaches A's account
    forged = f"{owned.a.user_id}.password.{int(time.time() * 1000)}.{'A' * 43}"
    async with httpx.AsyncClient(base_url=f"{app.url}/api/v1", timeout=10) as http:
        refused = await http.post("/auth/mfa", json={"challenge": forged, "code": "123456"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "invalid_mfa_challenge")


async def test_another_users_room_in_an_event_is_an_error_ack(
    app: Served, owned: Owned, intruder: Account
) -> None:
    socket = await connect(app.url, intruder)
    try:
        for event, payload in sorted(EVENT_SWEEP.items()):
            ack = await socket.ask(event, payload(owned))
            assert ack == {
                "ok": False,
                "error": {"code": "not_found", "message": ack["error"]["message"]},
            }, (event, ack)
        await asyncio.sleep(0.2)
        assert socket.events == []  # nothing of A's room, no presence of A
    finally:
        await socket.close()
    await assert_a_untouched(app, owned)


async def test_every_locked_operation_is_401_without_a_token(app: Served, owned: Owned) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        spec = (await http.get(f"{app.url}/openapi.json")).json()
    locked = [
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") and not path.startswith(ADMIN_PREFIX)
    ]
    assert len(locked) >= 15
    values = {
        "file_id": owned.file_id,
        "room_id": owned.room_id,
        "message_id": owned.message_id,
        "user_id": owned.a.user_id,
        "session_id": owned.session_id,
        "invitation_id": "email:" + "0" * 32,
        "provider": "oidc",
        "identity_id": "0" * 32,
        "passkey_id": owned.passkey_id,
    }
    async with httpx.AsyncClient(base_url=app.url, timeout=10) as http:
        for method, path in locked:
            url = re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], path)
            for headers in (
                {},
                {"Authorization": "Bearer not-a-token"},
                {"Authorization": "Basic x"},
            ):
                response = await http.request(method, url, headers=headers, json={})
                assert response.status_code == 401, (method, path, headers, response.text)
                assert response.json()["error"]["code"] == "unauthorized"
    await assert_a_untouched(app, owned)


async def test_every_admin_route_is_the_unknown_routes_404_to_all_but_an_administrator(
    app: Served, owned: Owned, intruder: Account
) -> None:
    """Every rule under /api/v1/admin/ (from the URL map: a new one cannot be left out),
    every method: B's token, no token, a bad one, all get what an unknown route gets; the
    administrator's token reaches the routes (so the 404s are refusals, not a missing API)."""
    rules = sorted(
        (method, rule.rule)
        for rule in http_app({}).url_map.iter_rules()
        if rule.rule.startswith(ADMIN_PREFIX)
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    )
    assert len(rules) >= 8
    admin = await sign_up(app.url, ADMIN, "Root")
    async with httpx.AsyncClient(base_url=app.url, timeout=10) as http:
        unknown = (await http.get("/api/v1/no-such-route")).json()["error"]
        assert unknown["code"] == "not_found"
        for method, rule in rules:
            url = fill(rule, {"user_id": owned.a.user_id})
            for headers in (
                {"Authorization": f"Bearer {intruder.token}"},
                {},
                {"Authorization": "Bearer not-a-token"},
            ):
                response = await http.request(method, url, headers=headers)
                assert response.status_code == 404, (method, rule, headers, response.text)
                error = response.json()["error"]
                assert (error["code"], error["message"]) == (unknown["code"], unknown["message"])
        listed = await http.get(
            "/api/v1/admin/users", headers={"Authorization": f"Bearer {admin.token}"}
        )
        assert listed.status_code == 200, listed.text
        assert owned.a.user_id in {u["id"] for u in listed.json()["items"]}
    await assert_a_untouched(app, owned)
