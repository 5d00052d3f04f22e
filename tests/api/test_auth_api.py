"""Every row of API.md's "Auth and OTP" table through the HTTP app, failures included."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
import pytest_asyncio
from dependency_injector import providers

from adapters.memory.clock import MemoryClock
from tests.api.auth_client import PASSWORD, AuthClient, use_fast_hasher
from tests.api.conftest import AppFactory

pytestmark = pytest.mark.api

EMAIL = "ada@example.com"


@pytest_asyncio.fixture
async def api(make_app: AppFactory) -> AsyncIterator[AuthClient]:
    app, container = make_app({})
    use_fast_hasher(container)
    async with app.test_app() as test_app:
        yield AuthClient(test_app.test_client(), container)


def error_code(body: Any) -> str:
    assert set(body) == {"error"}
    code: str = body["error"]["code"]
    return code


def assert_token_pair(body: Any, email: str) -> None:
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert set(body["user"]) == {"id", "email", "name", "email_verified", "created_at"}
    assert body["user"]["email"] == email
    assert body["user"]["created_at"].endswith("Z")


# signup, verify-email, login --------------------------------------------------------------


async def test_signup_then_verify_email_then_login(api: AuthClient) -> None:
    status, body, _ = await api.post(
        "/auth/signup", {"email": EMAIL, "password": PASSWORD, "name": "Ada"}
    )
    assert (status, body) == (202, {"status": "verification_sent"})
    code = await api.code(EMAIL)
    status, pair, _ = await api.post("/auth/verify-email", {"email": EMAIL, "code": code})
    assert status == 200
    assert_token_pair(pair, EMAIL)
    assert pair["user"]["email_verified"] is True
    status, pair, _ = await api.post("/auth/login", {"email": EMAIL, "password": PASSWORD})
    assert status == 200
    assert_token_pair(pair, EMAIL)


async def test_signup_answers_identically_for_known_and_unknown_addresses(
    api: AuthClient,
) -> None:
    await api.signed_up(EMAIL)
    known = await api.post("/auth/signup", {"email": EMAIL, "password": PASSWORD, "name": "X"})
    unknown = await api.post(
        "/auth/signup", {"email": "new@example.com", "password": PASSWORD, "name": "X"}
    )
    assert known[:2] == unknown[:2] == (202, {"status": "verification_sent"})


async def test_emails_are_matched_case_insensitively_and_unicode_works(api: AuthClient) -> None:
    await api.signed_up("Zoë.Smith@Example.COM", name="Zoë ✨")
    status, pair, _ = await api.post(
        "/auth/login", {"email": "  zoë.smith@example.com ", "password": PASSWORD}
    )
    assert status == 200
    assert pair["user"]["email"] == "zoë.smith@example.com"
    assert pair["user"]["name"] == "Zoë ✨"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"email": "ada@example.com", "password": "short", "name": "Ada"}, {"password"}),
        ({"email": "not-an-email", "password": PASSWORD, "name": "Ada"}, {"email"}),
        ({"email": "ada@example.com", "password": PASSWORD}, {"name"}),
        ({"email": 42, "password": ["x"], "name": None}, {"email", "password", "name"}),
        ({"email": "ada@example.com", "password": "x" * 257, "name": "Ada"}, {"password"}),
        ({"email": "ada@example.com", "password": PASSWORD, "name": "   "}, {"name"}),
    ],
)
async def test_signup_rejects_bad_input_with_422(
    api: AuthClient, body: dict[str, Any], fields: set[str]
) -> None:
    status, answer, _ = await api.post("/auth/signup", body)
    assert status == 422
    assert error_code(answer) == "validation_error"
    assert {d["field"] for d in answer["error"]["details"]} == fields


async def test_bad_json_and_huge_bodies_get_the_error_shape(api: AuthClient) -> None:
    response = await api.client.post(
        "/api/v1/auth/login", data="{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert error_code(await response.get_json()) == "invalid_json"
    status, body, _ = await api.post("/auth/login", {"email": EMAIL, "password": "x" * 100_000})
    assert status == 413
    assert error_code(body) == "payload_too_large"


async def test_login_failures_look_the_same_and_lock_after_five(api: AuthClient) -> None:
    await api.signed_up(EMAIL)
    wrong = await api.post("/auth/login", {"email": EMAIL, "password": "wrong password"})
    unknown = await api.post("/auth/login", {"email": "x@example.com", "password": PASSWORD})
    assert wrong[0] == unknown[0] == 401
    assert error_code(wrong[1]) == error_code(unknown[1]) == "invalid_credentials"
    assert wrong[1]["error"]["message"] == unknown[1]["error"]["message"]
    for _ in range(4):
        await api.post("/auth/login", {"email": EMAIL, "password": "wrong password"})
    status, body, headers = await api.post("/auth/login", {"email": EMAIL, "password": PASSWORD})
    assert status == 429
    assert error_code(body) == "too_many_requests"
    assert 0 < int(headers["Retry-After"]) <= 60


async def test_an_unverified_user_gets_403(api: AuthClient) -> None:
    await api.post("/auth/signup", {"email": EMAIL, "password": PASSWORD, "name": "Ada"})
    status, body, _ = await api.post("/auth/login", {"email": EMAIL, "password": PASSWORD})
    assert status == 403
    assert error_code(body) == "email_not_verified"


async def test_a_wrong_verification_code_is_400_invalid_otp(api: AuthClient) -> None:
    await api.post("/auth/signup", {"email": EMAIL, "password": PASSWORD, "name": "Ada"})
    for code in ("000000x", "abc", "123456"):
        status, body, _ = await api.post("/auth/verify-email", {"email": EMAIL, "code": code})
        if status != 200:
            assert status == 400
            assert error_code(body) == "invalid_otp"


# codes ------------------------------------------------------------------------------------


async def test_code_requests_are_identical_for_known_and_unknown_and_throttled(
    api: AuthClient,
) -> None:
    await api.signed_up(EMAIL)
    known = await api.post("/auth/otp/request", {"email": EMAIL, "purpose": "login"})
    unknown = await api.post("/auth/otp/request", {"email": "no@example.com", "purpose": "login"})
    assert known[:2] == unknown[:2] == (202, {"status": "sent_if_exists"})
    for email in (EMAIL, "no@example.com"):
        status, body, headers = await api.post(
            "/auth/otp/request", {"email": email, "purpose": "login"}
        )
        assert (status, error_code(body)) == (429, "too_many_requests")
        assert "Retry-After" in headers
    status, _, _ = await api.post("/auth/otp/request", {"email": EMAIL, "purpose": "other"})
    assert status == 422


async def test_passwordless_login_with_an_email_code(api: AuthClient) -> None:
    await api.signed_up(EMAIL)
    await api.post("/auth/otp/request", {"email": EMAIL, "purpose": "login"})
    code = await api.code(EMAIL, at_least=2)
    status, pair, _ = await api.post(
        "/auth/otp/verify", {"email": EMAIL, "purpose": "login", "code": code}
    )
    assert status == 200
    assert_token_pair(pair, EMAIL)


async def test_a_code_is_burned_after_five_wrong_tries(api: AuthClient) -> None:
    await api.signed_up(EMAIL)
    await api.post("/auth/otp/request", {"email": EMAIL, "purpose": "login"})
    code = await api.code(EMAIL, at_least=2)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        status, body, _ = await api.post(
            "/auth/otp/verify", {"email": EMAIL, "purpose": "login", "code": wrong}
        )
        assert (status, error_code(body)) == (400, "invalid_otp")
    status, body, _ = await api.post(
        "/auth/otp/verify", {"email": EMAIL, "purpose": "login", "code": code}
    )
    assert (status, error_code(body)) == (400, "invalid_otp")


async def test_password_reset_by_code(api: AuthClient) -> None:
    pair = await api.signed_up(EMAIL)
    await api.post("/auth/otp/request", {"email": EMAIL, "purpose": "password_reset"})
    code = await api.code(EMAIL, at_least=2)
    status, grant, _ = await api.post(
        "/auth/otp/verify", {"email": EMAIL, "purpose": "password_reset", "code": code}
    )
    assert status == 200
    assert grant["token_type"] == "reset"
    assert set(grant) == {"reset_token", "token_type", "expires_in"}
    status, body, _ = await api.post(
        "/auth/password/reset", {"reset_token": grant["reset_token"], "new_password": "a new pw!!"}
    )
    assert (status, body) == (204, None)
    status, body, _ = await api.post(
        "/auth/password/reset", {"reset_token": grant["reset_token"], "new_password": "again pw!!"}
    )
    assert (status, error_code(body)) == (400, "invalid_token")
    status, body, _ = await api.post("/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert (status, error_code(body)) == (401, "unauthorized")
    status, _, _ = await api.post("/auth/login", {"email": EMAIL, "password": "a new pw!!"})
    assert status == 200


# refresh, logout ------------------------------------------------------------------------


async def test_refresh_rotates_and_reuse_revokes_the_family(api: AuthClient) -> None:
    pair = await api.signed_up(EMAIL)
    status, rotated, _ = await api.post("/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert status == 200
    assert_token_pair(rotated, EMAIL)
    # a second tab with the old token, inside the grace window, gets the same current token
    status, late, _ = await api.post("/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert status == 200
    assert late["refresh_token"] == rotated["refresh_token"]


async def test_presenting_a_spent_token_after_the_grace_window_is_token_reused(
    api: AuthClient,
) -> None:
    pair = await api.signed_up(EMAIL)
    _, rotated, _ = await api.post("/auth/refresh", {"refresh_token": pair["refresh_token"]})
    _, newer, _ = await api.post("/auth/refresh", {"refresh_token": rotated["refresh_token"]})
    status, body, _ = await api.post("/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert (status, error_code(body)) == (401, "token_reused")
    status, body, _ = await api.post("/auth/refresh", {"refresh_token": newer["refresh_token"]})
    assert (status, error_code(body)) == (401, "unauthorized")


async def test_logout_and_logout_all(api: AuthClient) -> None:
    first = await api.signed_up(EMAIL)
    _, second, _ = await api.post("/auth/login", {"email": EMAIL, "password": PASSWORD})
    status, body, _ = await api.post(
        "/auth/logout", {"refresh_token": first["refresh_token"]}, token=first["access_token"]
    )
    assert (status, body) == (204, None)
    status, _, _ = await api.post("/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert status == 401
    # the session's access token dies with it; the other session's lives on
    assert (await api.get("/users/me", token=first["access_token"]))[0] == 401
    assert (await api.get("/users/me", token=second["access_token"]))[0] == 200
    status, _, _ = await api.post("/auth/logout-all", token=second["access_token"])
    assert status == 204
    status, _, _ = await api.post("/auth/refresh", {"refresh_token": second["refresh_token"]})
    assert status == 401
    assert (await api.get("/users/me", token=second["access_token"]))[0] == 401
    status, body, _ = await api.post("/auth/logout-all")
    assert (status, error_code(body)) == (401, "unauthorized")


# users/me and forged tokens ---------------------------------------------------------------


async def test_me_and_rename(api: AuthClient) -> None:
    pair = await api.signed_up(EMAIL)
    status, me, headers = await api.get("/users/me", token=pair["access_token"])
    assert status == 200
    assert me == pair["user"]
    assert headers["X-RateLimit-Limit"] == "120"
    assert int(headers["X-RateLimit-Remaining"]) == 119
    response = await api.client.patch(
        "/api/v1/users/me",
        json={"name": "Ada Lovelace"},
        headers={"Authorization": f"Bearer {pair['access_token']}"},
    )
    assert response.status_code == 200
    assert (await response.get_json())["name"] == "Ada Lovelace"
    _, me, _ = await api.get("/users/me", token=pair["access_token"])
    assert me["name"] == "Ada Lovelace"
    response = await api.client.patch(
        "/api/v1/users/me",
        json={"name": ""},
        headers={"Authorization": f"Bearer {pair['access_token']}"},
    )
    assert response.status_code == 422


# GET /users?ids= : the users who share a room with the caller ----------------------------


async def people(api: AuthClient, *names: str) -> dict[str, tuple[str, str]]:
    """name -> (user id, access token), each signed up and verified."""
    found = {}
    for name in names:
        pair = await api.signed_up(f"{name}@example.com", name.title())
        found[name] = (pair["user"]["id"], pair["access_token"])
    return found


async def test_users_answers_room_mates_names_and_leaves_the_others_out(api: AuthClient) -> None:
    p = await people(api, "ada", "bob", "cy", "eve")
    (ada, token), (bob, _), (cy, cy_token), (eve, _) = p["ada"], p["bob"], p["cy"], p["eve"]
    status, _, _ = await api.post("/chat/rooms", {"name": "General", "member_ids": [bob]}, token)
    assert status == 201
    status, _, _ = await api.post("/chat/rooms", {"name": "Side", "member_ids": [ada]}, cy_token)
    assert status == 201

    ids = ",".join([bob, eve, "ghost", ada, cy, bob])
    status, body, _ = await api.get(f"/users?ids={ids}", token)

    assert status == 200
    assert body == {
        "items": [
            {"id": bob, "name": "Bob"},
            {"id": ada, "name": "Ada"},
            {"id": cy, "name": "Cy"},
        ]
    }  # eve (unrelated) and ghost (unknown) absent; bob once; no email or other field


async def test_users_cannot_tell_an_unrelated_id_from_an_unknown_one(api: AuthClient) -> None:
    p = await people(api, "ada", "eve")
    (_, token), (eve, _) = p["ada"], p["eve"]

    unrelated = await api.get(f"/users?ids={eve}", token)
    unknown = await api.get(f"/users?ids={'f' * len(eve)}", token)

    assert unrelated[:2] == unknown[:2] == (200, {"items": []})
    assert set(unrelated[2].keys()) == set(unknown[2].keys())  # the same headers


async def test_users_without_ids_is_empty_and_the_caller_always_sees_themselves(
    api: AuthClient,
) -> None:
    p = await people(api, "ada")
    ada, token = p["ada"]

    for query in ("", "?ids=", "?ids=%20,%20,,"):
        assert (await api.get(f"/users{query}", token))[:2] == (200, {"items": []}), query
    status, body, _ = await api.get(f"/users?ids={ada}", token)
    assert (status, body) == (200, {"items": [{"id": ada, "name": "Ada"}]})


async def test_users_takes_at_most_100_ids(api: AuthClient) -> None:
    p = await people(api, "ada")
    ada, token = p["ada"]
    hundred = [f"id{i}" for i in range(99)] + [ada]

    status, body, _ = await api.get(f"/users?ids={','.join(hundred + hundred)}", token)
    assert (status, body) == (200, {"items": [{"id": ada, "name": "Ada"}]})  # 100 distinct

    status, body, _ = await api.get(f"/users?ids={','.join([*hundred, 'one-more'])}", token)
    assert status == 422
    assert error_code(body) == "validation_error"
    assert set(body["error"]) == {"code", "message", "request_id", "details"}
    assert [d["field"] for d in body["error"]["details"]] == ["ids"]


async def test_users_needs_a_token(api: AuthClient) -> None:
    p = await people(api, "ada")
    ada, _ = p["ada"]

    for token in (None, "not-a-token"):
        status, body, _ = await api.get(f"/users?ids={ada}", token)
        assert (status, error_code(body)) == (401, "unauthorized")


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_forged_access_tokens_are_401(api: AuthClient) -> None:
    pair = await api.signed_up(EMAIL)
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    secret = api.container.settings().jwt_secret
    now = int(time.time())
    forged = {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "wrong signature": jwt.encode(claims, "another secret that is long enough!!", "HS256"),
        "refresh token as access": pair["refresh_token"],
        "expired": jwt.encode({**claims, "iat": now - 2000, "exp": now - 1000}, secret, "HS256"),
        "wrong audience": jwt.encode({**claims, "aud": "someone-else"}, secret, "HS256"),
        "wrong type": jwt.encode({**claims, "typ": "refresh"}, secret, "HS256"),
        "garbage": "not.a.token",
    }
    for name, token in forged.items():
        status, body, _ = await api.get("/users/me", token=token)
        assert (status, error_code(body)) == (401, "unauthorized"), name
    response = await api.client.get("/api/v1/users/me", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401


async def test_more_than_ten_wrong_codes_an_hour_get_429_even_with_a_fresh_code(
    make_app: AppFactory,
) -> None:
    app, container = make_app({})
    use_fast_hasher(container)
    clock = MemoryClock(datetime.now(UTC))
    container.adapters.clock.override(providers.Object(clock))
    async with app.test_app() as test_app:
        api = AuthClient(test_app.test_client(), container)
        await api.signed_up(EMAIL)
        for round_ in range(2):
            clock.advance(61)
            await api.post("/auth/otp/request", {"email": EMAIL, "purpose": "login"})
            await api.code(EMAIL, at_least=2 + round_)
            for _ in range(5):
                status, _, _ = await api.post(
                    "/auth/otp/verify", {"email": EMAIL, "purpose": "login", "code": "999999x"}
                )
                assert status == 400
        clock.advance(61)
        await api.post("/auth/otp/request", {"email": EMAIL, "purpose": "login"})
        code = await api.code(EMAIL, at_least=4)
        status, body, headers = await api.post(
            "/auth/otp/verify", {"email": EMAIL, "purpose": "login", "code": code}
        )
        assert (status, error_code(body)) == (429, "too_many_requests")
        assert int(headers["Retry-After"]) > 60


# DELETE /users/me: account deletion -----------------------------------------------------


async def test_deleting_the_account_removes_it_and_everything_of_it(api: AuthClient) -> None:
    from tests.api.files_client import PNG, FilesClient

    files = FilesClient(api.client, api.container)
    ada = await api.signed_up(EMAIL)
    bob = await api.signed_up("bob@example.com", "Bob")
    a, b = ada["access_token"], bob["access_token"]
    status, stored = await files.upload(a, PNG)
    assert status == 201
    status, room, _ = await api.post(
        "/chat/rooms", {"name": "General", "member_ids": [bob["user"]["id"]]}, a
    )
    assert status == 201
    await api.post(f"/chat/rooms/{room['id']}/accept", None, b)
    status, sent, _ = await api.post(f"/chat/rooms/{room['id']}/messages", {"body": "hi"}, a)
    assert status == 201
    await api.post(f"/chat/rooms/{room['id']}/read", {"seq": 1}, a)
    status, invited, _ = await api.post(  # an invitation of Ada's, never accepted
        "/chat/rooms", {"name": "Later", "member_ids": [ada["user"]["id"]]}, b
    )
    assert status == 201

    status, body, _ = await api.send("DELETE", "/users/me", {"password": "not the password"}, a)
    assert (status, error_code(body)) == (401, "invalid_credentials")
    status, body, _ = await api.send("DELETE", "/users/me", {}, a)
    assert status == 422
    status, body, _ = await api.send("DELETE", "/users/me", {"password": PASSWORD}, a)
    assert (status, body) == (204, None)

    # the access token is refused at once, the refresh token and the password too
    assert (await api.get("/users/me", token=a))[0] == 401
    status, _, _ = await api.post("/auth/refresh", {"refresh_token": ada["refresh_token"]})
    assert status == 401
    status, body, _ = await api.post("/auth/login", {"email": EMAIL, "password": PASSWORD})
    assert (status, error_code(body)) == (401, "invalid_credentials")
    # Bob's rooms no longer hold Ada; her message is a tombstone with its seq
    _, rooms, _ = await api.get("/chat/rooms", b)
    general = next(r for r in rooms["items"] if r["id"] == room["id"])
    assert general["member_ids"] == [bob["user"]["id"]]
    later = next(r for r in rooms["items"] if r["id"] == invited["id"])
    assert "invited_ids" not in later or later["invited_ids"] == []
    _, page, _ = await api.get(f"/chat/rooms/{room['id']}/messages", b)
    assert [(m["seq"], m["body"], m.get("deleted")) for m in page["items"]] == [(1, "", True)]
    _, receipts, _ = await api.get(f"/chat/rooms/{room['id']}/receipts", b)
    assert ada["user"]["id"] not in {r["user_id"] for r in receipts["items"]}
    # nothing of her files is stored; the address can sign up anew
    assert await api.container.adapters.files().every_of_owner(ada["user"]["id"], 10) == []
    blobs = api.container.adapters.blobs()
    assert not [k for k in blobs._objects if ada["user"]["id"] in k]
    assert stored["id"]
    assert sent["seq"] == 1
    again = await api.signed_up(EMAIL)
    assert again["user"]["id"] != ada["user"]["id"]


async def test_account_deletion_guesses_count_like_failed_logins(api: AuthClient) -> None:
    pair = await api.signed_up(EMAIL)
    token = pair["access_token"]
    for _ in range(3):
        status, body, _ = await api.send("DELETE", "/users/me", {"password": "wrong guess"}, token)
        assert (status, error_code(body)) == (401, "invalid_credentials")
    for _ in range(2):  # the same minute's five failures, logins and deletions together
        status, _, _ = await api.post("/auth/login", {"email": EMAIL, "password": "wrong guess"})
        assert status == 401
    status, body, headers = await api.send("DELETE", "/users/me", {"password": PASSWORD}, token)
    assert (status, error_code(body)) == (429, "too_many_requests")
    assert int(headers["Retry-After"]) >= 1
    assert (await api.get("/users/me", token=token))[0] == 200


async def test_an_account_without_a_password_is_told_to_set_one(api: AuthClient) -> None:
    # a login code verifies a never-verified account and leaves it without a password
    await api.post("/auth/signup", {"email": EMAIL, "password": PASSWORD, "name": "Ada"})
    await api.post("/auth/otp/request", {"email": EMAIL, "purpose": "login"})
    code = await api.code(EMAIL, at_least=2)
    status, pair, _ = await api.post(
        "/auth/otp/verify", {"email": EMAIL, "purpose": "login", "code": code}
    )
    assert status == 200
    token = pair["access_token"]
    status, body, _ = await api.send("DELETE", "/users/me", {"password": PASSWORD}, token)
    assert (status, error_code(body)) == (409, "password_not_set")
    assert "/users/me/deletion-code" in body["error"]["message"]
    assert (await api.get("/users/me", token=token))[0] == 200


async def test_an_account_is_deleted_with_a_code_mailed_for_it(api: AuthClient) -> None:
    pair = await api.signed_up(EMAIL)
    token = pair["access_token"]
    status, body, _ = await api.post("/users/me/deletion-code", None, token)
    assert (status, body) == (202, {"status": "sent"})
    [mail, _] = await api.mailbox(EMAIL, at_least=2)
    assert mail["subject"].startswith("Confirm deleting your account")
    code = await api.code(EMAIL, at_least=2)
    status, body, _ = await api.post("/users/me/deletion-code", None, token)
    assert (status, error_code(body)) == (429, "too_many_requests")  # the codes' cooldown
    wrong = "000000" if code != "000000" else "111111"
    status, body, _ = await api.send("DELETE", "/users/me", {"code": wrong}, token)
    assert (status, error_code(body)) == (400, "invalid_otp")
    for both_or_junk in ({"code": code, "password": PASSWORD}, {"code": ""}, {"code": 7}):
        status, body, _ = await api.send("DELETE", "/users/me", both_or_junk, token)
        assert status == 422, both_or_junk
    # the code routes for signing in neither mail nor spend a deletion code
    for path, body in (
        ("/auth/otp/request", {"email": EMAIL, "purpose": "delete_account"}),
        ("/auth/otp/verify", {"email": EMAIL, "purpose": "delete_account", "code": code}),
    ):
        status, _, _ = await api.post(path, body)
        assert status == 422
    status, body, _ = await api.send("DELETE", "/users/me", {"code": code}, token)
    assert (status, body) == (204, None)
    assert (await api.get("/users/me", token=token))[0] == 401
    status, _, _ = await api.post("/auth/login", {"email": EMAIL, "password": PASSWORD})
    assert status == 401


async def test_50_parallel_guesses_of_a_deletion_code_delete_nothing(api: AuthClient) -> None:
    """The attack: a stolen access token and a burst of guesses at the 6-digit code. The
    guesses are counted atomically, so the code is burnt after the allowed tries."""
    pair = await api.signed_up(EMAIL)
    token = pair["access_token"]
    await api.post("/users/me/deletion-code", None, token)
    code = await api.code(EMAIL, at_least=2)
    guesses = [f"{n:06d}" for n in range(50) if f"{n:06d}" != code][:50]
    answers = await asyncio.gather(
        *(api.send("DELETE", "/users/me", {"code": g}, token) for g in guesses)
    )
    statuses = sorted({status for status, _, _ in answers})
    assert set(statuses) <= {400, 429}, statuses
    assert 429 in statuses
    status, body, _ = await api.send("DELETE", "/users/me", {"code": code}, token)
    assert status in (400, 429), body  # the right code no longer opens it
    assert (await api.get("/users/me", token=token))[0] == 200


async def test_a_deletion_that_fails_half_way_is_finished_by_deleting_again(
    api: AuthClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain.errors import ServiceUnavailable
    from tests.api.files_client import PNG, FilesClient

    pair = await api.signed_up(EMAIL)
    user_id = pair["user"]["id"]
    status, _ = await FilesClient(api.client, api.container).upload(pair["access_token"], PNG)
    assert status == 201
    blobs = api.container.adapters.blobs()
    delete = blobs.delete

    async def storage_down(key: str) -> None:
        raise ServiceUnavailable()

    monkeypatch.setattr(blobs, "delete", storage_down)
    status, body, _ = await api.send(
        "DELETE", "/users/me", {"password": PASSWORD}, pair["access_token"]
    )
    assert (status, error_code(body)) == (503, "service_unavailable")
    # its sessions are gone already, the account is not: sign in and delete it again
    assert (await api.get("/users/me", token=pair["access_token"]))[0] == 401
    monkeypatch.setattr(blobs, "delete", delete)
    status, again, _ = await api.post("/auth/login", {"email": EMAIL, "password": PASSWORD})
    assert status == 200
    status, _, _ = await api.send(
        "DELETE", "/users/me", {"password": PASSWORD}, again["access_token"]
    )
    assert status == 204
    assert await api.container.adapters.files().every_of_owner(user_id, 10) == []
    assert await api.container.adapters.users().get(user_id) is None


async def test_the_session_list_names_each_client_and_one_session_can_be_ended(
    api: AuthClient,
) -> None:
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
    first = await api.signed_up(EMAIL)
    body = {"email": EMAIL, "password": PASSWORD}
    _, second, _ = await api.post("/auth/login", body, **{"User-Agent": firefox})
    status, listed, _ = await api.get("/auth/sessions", token=second["access_token"])
    assert status == 200
    [newest, oldest] = listed["items"]
    assert (newest["client"], newest["current"], oldest["current"]) == (
        "Firefox on Linux",
        True,
        False,
    )
    assert set(newest) == {"id", "created_at", "last_used_at", "client", "current"}

    # the other session ends: its tokens stop working at once; this one goes on
    status, body_out, _ = await api.send(
        "DELETE", f"/auth/sessions/{oldest['id']}", token=second["access_token"]
    )
    assert (status, body_out) == (204, None)
    assert (await api.get("/users/me", token=first["access_token"]))[0] == 401
    refresh = await api.post("/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert refresh[0] == 401
    assert (await api.get("/users/me", token=second["access_token"]))[0] == 200
    _, listed, _ = await api.get("/auth/sessions", token=second["access_token"])
    assert [s["id"] for s in listed["items"]] == [newest["id"]]
    status, body_out, _ = await api.send(
        "DELETE", f"/auth/sessions/{oldest['id']}", token=second["access_token"]
    )
    assert (status, error_code(body_out)) == (404, "not_found")  # gone, or never the caller's
