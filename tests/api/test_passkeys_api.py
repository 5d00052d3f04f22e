"""Passkeys through the HTTP app with a software authenticator (tests/support/webauthn.py):
registration, the list, sign-in, completing a second-factor challenge, and every refusal the
ceremonies owe: a counter that went back, another origin, a replayed or expired challenge, a
challenge of another ceremony or user, another user's credential and passkey id."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest
import pytest_asyncio
from dependency_injector import providers

from adapters.memory.clock import MemoryClock
from tests.api.auth_client import PASSWORD, AuthClient, use_fast_hasher
from tests.api.conftest import AppFactory
from tests.support.webauthn import SoftAuthenticator

pytestmark = pytest.mark.api

ADA, BOB = "ada@example.com", "bob@example.com"


@pytest_asyncio.fixture
async def api(make_app: AppFactory) -> AsyncIterator[AuthClient]:
    app, container = make_app({})
    use_fast_hasher(container)
    async with app.test_app() as test_app:
        yield AuthClient(test_app.test_client(), container)


def error_code(body: Any) -> str:
    return str(body["error"]["code"])


async def register(
    api: AuthClient, token: str, authenticator: SoftAuthenticator, name: str = "Laptop"
) -> dict[str, Any]:
    status, options, _ = await api.post("/auth/passkeys/register/options", token=token)
    assert status == 200, options
    credential = authenticator.create(options["options"])
    status, passkey, _ = await api.post(
        "/auth/passkeys/register", {"name": name, "credential": credential}, token=token
    )
    assert status == 201, passkey
    return dict(passkey)


async def login_options(api: AuthClient, mfa_challenge: str | None = None) -> dict[str, Any]:
    body = {} if mfa_challenge is None else {"mfa_challenge": mfa_challenge}
    status, options, _ = await api.post("/auth/passkeys/login/options", body)
    assert status == 200, options
    return dict(options["options"])


async def passkey_login(api: AuthClient, credential: dict[str, Any]) -> tuple[int, Any]:
    status, body, _ = await api.post("/auth/passkeys/login", {"credential": credential})
    return status, body


async def test_register_list_and_sign_in_with_a_passkey(api: AuthClient) -> None:
    token = (await api.signed_up(ADA))["access_token"]
    status, options, _ = await api.post("/auth/passkeys/register/options", token=token)
    assert status == 200
    creation = options["options"]
    assert options["expires_in"] == 300
    assert creation["rp"] == {"id": "localhost", "name": "FlowHub"}
    assert creation["authenticatorSelection"] == {
        "residentKey": "required",
        "requireResidentKey": True,
        "userVerification": "preferred",
    }
    assert creation["excludeCredentials"] == [] and creation["attestation"] == "none"
    authenticator = SoftAuthenticator()
    passkey = await register(api, token, authenticator)
    assert set(passkey) == {"id", "name", "created_at", "transports"}
    assert (passkey["name"], passkey["transports"]) == ("Laptop", ["internal"])
    # its credential is excluded from the next registration
    status, options, _ = await api.post("/auth/passkeys/register/options", token=token)
    assert [c["id"] for c in options["options"]["excludeCredentials"]] == [authenticator.id]

    request = await login_options(api)
    assert request["allowCredentials"] == [] and request["rpId"] == "localhost"
    status, pair = await passkey_login(api, authenticator.get(request))
    assert status == 200, pair
    assert pair["token_type"] == "bearer" and pair["user"]["email"] == ADA
    status, me, _ = await api.get("/users/me", token=pair["access_token"])
    assert (status, me["email"]) == (200, ADA)
    status, listed, _ = await api.get("/auth/passkeys", token=token)
    assert status == 200
    [item] = listed["items"]
    assert item["id"] == passkey["id"] and "last_used_at" in item


async def test_rename_and_remove_and_another_users_passkey_is_404(api: AuthClient) -> None:
    ada = (await api.signed_up(ADA))["access_token"]
    bob = (await api.signed_up(BOB, "Bob"))["access_token"]
    first = await register(api, ada, SoftAuthenticator(), "One")
    second = await register(api, ada, SoftAuthenticator(), "Two")
    path = f"/auth/passkeys/{first['id']}"
    status, body, _ = await api.send("PATCH", path, {"name": "Phone"}, token=bob)
    assert (status, error_code(body)) == (404, "not_found")
    status, body, _ = await api.send("DELETE", path, token=bob)
    assert (status, error_code(body)) == (404, "not_found")
    status, renamed, _ = await api.send("PATCH", path, {"name": "Phone"}, token=ada)
    assert (status, renamed["name"]) == (200, "Phone")
    status, body, _ = await api.send("PATCH", path, {"name": "x" * 65}, token=ada)
    assert (status, error_code(body)) == (422, "validation_error")
    status, _, _ = await api.send("DELETE", path, token=ada)
    assert status == 204
    status, body, _ = await api.send("DELETE", path, token=ada)
    assert status == 404
    # the last one can go too: an email code always signs the account in
    status, _, _ = await api.send("DELETE", f"/auth/passkeys/{second['id']}", token=ada)
    assert status == 204
    status, listed, _ = await api.get("/auth/passkeys", token=ada)
    assert listed["items"] == []
    status, listed, _ = await api.get("/auth/passkeys", token=bob)
    assert listed["items"] == []


async def test_a_removed_passkey_no_longer_signs_in(api: AuthClient) -> None:
    token = (await api.signed_up(ADA))["access_token"]
    authenticator = SoftAuthenticator()
    passkey = await register(api, token, authenticator)
    await api.send("DELETE", f"/auth/passkeys/{passkey['id']}", token=token)
    status, body = await passkey_login(api, authenticator.get(await login_options(api)))
    assert (status, error_code(body)) == (400, "invalid_passkey")


async def test_a_counter_that_goes_back_is_refused_as_a_clone(
    api: AuthClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="flowhub.events")
    token = (await api.signed_up(ADA))["access_token"]
    authenticator = SoftAuthenticator()
    await register(api, token, authenticator)
    status, _ = await passkey_login(api, authenticator.get(await login_options(api), sign_count=5))
    assert status == 200
    # a copy of the key whose counter lags behind: a genuine signature, an old counter
    for count in (5, 3):
        status, body = await passkey_login(
            api, authenticator.get(await login_options(api), sign_count=count)
        )
        assert (status, error_code(body)) == (400, "invalid_passkey")
        assert "cloned" in body["error"]["message"]
    events = [r for r in caplog.records if getattr(r, "event", "") == "passkey_counter_regressed"]
    assert len(events) == 2
    status, _ = await passkey_login(api, authenticator.get(await login_options(api), sign_count=6))
    assert status == 200


async def test_a_zero_counter_authenticator_signs_in_repeatedly(api: AuthClient) -> None:
    """Synced passkeys report 0 always: that is no regression."""
    token = (await api.signed_up(ADA))["access_token"]
    authenticator = SoftAuthenticator(counting=False)
    await register(api, token, authenticator)
    for _ in range(2):
        status, _ = await passkey_login(api, authenticator.get(await login_options(api)))
        assert status == 200


async def test_another_origin_is_refused(api: AuthClient) -> None:
    token = (await api.signed_up(ADA))["access_token"]
    status, options, _ = await api.post("/auth/passkeys/register/options", token=token)
    authenticator = SoftAuthenticator()
    credential = authenticator.create(options["options"], origin="https://evil.example")
    status, body, _ = await api.post(
        "/auth/passkeys/register", {"credential": credential}, token=token
    )
    assert (status, error_code(body)) == (400, "invalid_passkey")
    # another RP ID in the authenticator data
    credential = authenticator.create(options["options"], rp_id="evil.example")
    status, body, _ = await api.post(
        "/auth/passkeys/register", {"credential": credential}, token=token
    )
    assert (status, error_code(body)) == (400, "invalid_passkey")
    await register(api, token, authenticator)
    credential = authenticator.get(await login_options(api), origin="https://evil.example")
    status, body = await passkey_login(api, credential)
    assert (status, error_code(body)) == (400, "invalid_passkey")


async def test_a_replayed_answer_or_challenge_is_refused(api: AuthClient) -> None:
    token = (await api.signed_up(ADA))["access_token"]
    authenticator = SoftAuthenticator(counting=False)
    await register(api, token, authenticator)
    options = await login_options(api)
    answer = authenticator.get(options)
    assert (await passkey_login(api, answer))[0] == 200
    status, body = await passkey_login(api, answer)  # the same answer again
    assert (status, error_code(body)) == (400, "invalid_passkey")
    status, body = await passkey_login(api, authenticator.get(options))  # the same challenge
    assert (status, error_code(body)) == (400, "invalid_passkey")
    # a counting authenticator answering a spent challenge anew: still spent
    counting = SoftAuthenticator()
    await register(api, token, counting)
    options = await login_options(api)
    assert (await passkey_login(api, counting.get(options)))[0] == 200
    status, body = await passkey_login(api, counting.get(options))
    assert (status, error_code(body)) == (400, "invalid_passkey")


async def test_a_registration_answered_twice_is_refused(api: AuthClient) -> None:
    token = (await api.signed_up(ADA))["access_token"]
    status, options, _ = await api.post("/auth/passkeys/register/options", token=token)
    credential = SoftAuthenticator().create(options["options"])
    body = {"credential": credential}
    status, _, _ = await api.post("/auth/passkeys/register", body, token=token)
    assert status == 201
    status, answer, _ = await api.post("/auth/passkeys/register", body, token=token)
    assert (status, error_code(answer)) == (409, "passkey_exists")


async def test_a_challenge_answers_only_its_ceremony_and_user(api: AuthClient) -> None:
    ada = (await api.signed_up(ADA))["access_token"]
    bob = (await api.signed_up(BOB, "Bob"))["access_token"]
    status, options, _ = await api.post("/auth/passkeys/register/options", token=ada)
    # Ada's registration challenge, answered into Bob's account
    credential = SoftAuthenticator().create(options["options"])
    status, body, _ = await api.post(
        "/auth/passkeys/register", {"credential": credential}, token=bob
    )
    assert (status, error_code(body)) == (400, "invalid_passkey")
    # a registration challenge used to sign in
    authenticator = SoftAuthenticator()
    await register(api, ada, authenticator)
    as_login = {"challenge": options["options"]["challenge"], "rpId": "localhost"}
    status, body = await passkey_login(api, authenticator.get(as_login))
    assert (status, error_code(body)) == (400, "invalid_passkey")
    # a challenge the server never issued
    forged = {"challenge": "bG9naW4uLjEuYWJjLmRlZg", "rpId": "localhost"}
    status, body = await passkey_login(api, authenticator.get(forged))
    assert (status, error_code(body)) == (400, "invalid_passkey")


async def test_an_expired_challenge_is_refused(make_app: AppFactory) -> None:
    app, container = make_app({})
    use_fast_hasher(container)
    clock = MemoryClock(datetime.now(UTC))
    container.adapters.clock.override(providers.Object(clock))
    async with app.test_app() as test_app:
        api = AuthClient(test_app.test_client(), container)
        token = (await api.signed_up(ADA))["access_token"]
        authenticator = SoftAuthenticator()
        await register(api, token, authenticator)
        options = await login_options(api)
        clock.advance(301)
        status, body = await passkey_login(api, authenticator.get(options))
        assert (status, error_code(body)) == (400, "invalid_passkey")
        assert "expired" in body["error"]["message"]


async def test_malformed_answers_get_clear_errors(api: AuthClient) -> None:
    status, body = await passkey_login(api, {"id": "x"})
    assert (status, error_code(body)) == (422, "validation_error")
    bogus = {
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": {"clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA"},
    }
    status, body = await passkey_login(api, bogus)
    assert (status, error_code(body)) == (400, "invalid_passkey")
    status, body, _ = await api.post("/auth/passkeys/register/options")
    assert (status, error_code(body)) == (401, "unauthorized")


def totp_code(secret: str, ahead: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(datetime.now(UTC)) + ahead)


async def with_totp(api: AuthClient, token: str) -> str:
    status, enrolment, _ = await api.post("/auth/mfa/totp", token=token)
    status, _, _ = await api.post(
        "/auth/mfa/totp/confirm", {"code": totp_code(enrolment["secret"])}, token=token
    )
    assert status == 200
    return str(enrolment["secret"])


async def password_challenge(api: AuthClient, email: str) -> str:
    status, answer, _ = await api.post("/auth/login", {"email": email, "password": PASSWORD})
    assert (status, answer["token_type"]) == (200, "mfa"), answer
    return str(answer["challenge"])


async def test_a_passkey_completes_a_second_factor_challenge_once(api: AuthClient) -> None:
    token = (await api.signed_up(ADA))["access_token"]
    await with_totp(api, token)
    authenticator = SoftAuthenticator()
    await register(api, token, authenticator)
    challenge = await password_challenge(api, ADA)
    options = await login_options(api, challenge)
    assert [c["id"] for c in options["allowCredentials"]] == [authenticator.id]
    body = {"challenge": challenge, "credential": authenticator.get(options)}
    status, pair, _ = await api.post("/auth/mfa", body)
    assert status == 200, pair
    assert pair["token_type"] == "bearer" and pair["user"]["email"] == ADA
    # the challenge is spent, whatever answers it next
    status, again, _ = await api.post(
        "/auth/mfa", {"challenge": challenge, "credential": authenticator.get(options)}
    )
    assert (status, error_code(again)) == (401, "invalid_mfa_challenge")
    # a passkey answer for one challenge does not complete another
    other = await password_challenge(api, ADA)
    status, wrong, _ = await api.post(
        "/auth/mfa", {"challenge": other, "credential": authenticator.get(options)}
    )
    assert (status, error_code(wrong)) == (400, "invalid_passkey")
    # a discoverable login's options do not complete a challenge either
    status, wrong, _ = await api.post(
        "/auth/mfa", {"challenge": other, "credential": authenticator.get(await login_options(api))}
    )
    assert (status, error_code(wrong)) == (400, "invalid_passkey")
    # exactly one proof
    status, both, _ = await api.post(
        "/auth/mfa",
        {"challenge": other, "code": "123456", "credential": authenticator.get(options)},
    )
    assert (status, error_code(both)) == (422, "validation_error")


async def test_another_users_passkey_does_not_complete_a_challenge(api: AuthClient) -> None:
    ada = (await api.signed_up(ADA))["access_token"]
    bob = (await api.signed_up(BOB, "Bob"))["access_token"]
    await with_totp(api, ada)
    await register(api, ada, SoftAuthenticator())
    bobs = SoftAuthenticator()
    await register(api, bob, bobs)
    challenge = await password_challenge(api, ADA)
    options = await login_options(api, challenge)
    status, body, _ = await api.post(
        "/auth/mfa", {"challenge": challenge, "credential": bobs.get(options)}
    )
    assert (status, error_code(body)) == (400, "invalid_passkey")
    status, bad, _ = await api.post("/auth/passkeys/login/options", {"mfa_challenge": "x.y.1.z"})
    assert (status, error_code(bad)) == (401, "invalid_mfa_challenge")


async def test_a_passkey_without_user_verification_still_asks_for_totp(api: AuthClient) -> None:
    token = (await api.signed_up(ADA))["access_token"]
    secret = await with_totp(api, token)
    authenticator = SoftAuthenticator()
    await register(api, token, authenticator)
    status, answer = await passkey_login(
        api, authenticator.get(await login_options(api), verified=False)
    )
    assert (status, answer["token_type"]) == (200, "mfa")
    status, pair, _ = await api.post(
        "/auth/mfa", {"challenge": answer["challenge"], "code": totp_code(secret, ahead=1)}
    )
    assert (status, pair["token_type"]) == (200, "bearer")
    # with user verification, the passkey is both factors
    status, pair = await passkey_login(api, authenticator.get(await login_options(api)))
    assert (status, pair["token_type"]) == (200, "bearer")


async def test_a_disabled_account_cannot_sign_in_with_its_passkey(api: AuthClient) -> None:
    token = (await api.signed_up(ADA))["access_token"]
    authenticator = SoftAuthenticator()
    await register(api, token, authenticator)
    users = api.container.adapters.users()
    user = await users.by_email(ADA)
    assert user is not None
    await users.save(user.with_disabled(True, datetime.now(UTC)))
    status, body = await passkey_login(api, authenticator.get(await login_options(api)))
    assert (status, error_code(body)) == (403, "account_disabled")


async def test_a_deleted_accounts_passkeys_go_with_it(api: AuthClient) -> None:
    token = (await api.signed_up(ADA))["access_token"]
    authenticator = SoftAuthenticator()
    await register(api, token, authenticator)
    status, _, _ = await api.send("DELETE", "/users/me", {"password": PASSWORD}, token=token)
    assert status == 204
    assert await api.container.adapters.passkeys().by_credential(authenticator.id) is None
    status, body = await passkey_login(api, authenticator.get(await login_options(api)))
    assert (status, error_code(body)) == (400, "invalid_passkey")


# DELETE /users/me {credential}: a passkey of the caller answering a deletion challenge


async def deletion_options(api: AuthClient, token: str) -> dict[str, Any]:
    status, options, _ = await api.post("/users/me/deletion-options", token=token)
    assert status == 200, options
    assert options["expires_in"] == 300
    return dict(options["options"])


async def delete_with(api: AuthClient, token: str, credential: dict[str, Any]) -> tuple[int, Any]:
    status, body, _ = await api.send("DELETE", "/users/me", {"credential": credential}, token=token)
    return status, body


async def still_there(api: AuthClient, token: str, authenticator: SoftAuthenticator) -> None:
    """Nothing of the account went: it reads itself, and its passkey is stored."""
    status, me, _ = await api.get("/users/me", token=token)
    assert (status, me["email"]) == (200, ADA)
    assert await api.container.adapters.passkeys().by_credential(authenticator.id) is not None


async def test_a_passkey_of_the_caller_confirms_the_deletion(api: AuthClient) -> None:
    token = (await api.signed_up(ADA))["access_token"]
    authenticator = SoftAuthenticator()
    passkey = await register(api, token, authenticator)
    options = await deletion_options(api, token)
    assert options["userVerification"] == "required"
    assert [c["id"] for c in options["allowCredentials"]] == [authenticator.id]
    status, body = await delete_with(api, token, authenticator.get(options))
    assert status == 204, body
    status, body, _ = await api.get("/users/me", token=token)
    assert (status, error_code(body)) == (401, "unauthorized")
    assert await api.container.adapters.passkeys().by_credential(authenticator.id) is None
    assert await api.container.adapters.users().by_email(ADA) is None
    status, body, _ = await api.send("DELETE", f"/auth/passkeys/{passkey['id']}", token=token)
    assert status == 401


async def test_another_users_passkey_does_not_confirm_a_deletion(api: AuthClient) -> None:
    ada = (await api.signed_up(ADA))["access_token"]
    bob = (await api.signed_up(BOB, "Bob"))["access_token"]
    adas, bobs = SoftAuthenticator(), SoftAuthenticator()
    await register(api, ada, adas)
    await register(api, bob, bobs)
    # someone in Ada's session answers Ada's deletion challenge with Bob's passkey
    status, body = await delete_with(api, ada, bobs.get(await deletion_options(api, ada)))
    assert (status, error_code(body)) == (400, "invalid_passkey")
    await still_there(api, ada, adas)
    # Bob's own deletion challenge, answered by Bob's passkey, does not delete Ada
    status, body = await delete_with(api, ada, bobs.get(await deletion_options(api, bob)))
    assert (status, error_code(body)) == (400, "invalid_passkey")
    # nor does Ada's passkey answering Bob's challenge
    status, body = await delete_with(api, ada, adas.get(await deletion_options(api, bob)))
    assert (status, error_code(body)) == (400, "invalid_passkey")
    await still_there(api, ada, adas)
    status, me, _ = await api.get("/users/me", token=bob)
    assert (status, me["email"]) == (200, BOB)


async def test_a_sign_in_challenge_does_not_confirm_a_deletion_nor_the_reverse(
    api: AuthClient,
) -> None:
    token = (await api.signed_up(ADA))["access_token"]
    authenticator = SoftAuthenticator()
    await register(api, token, authenticator)
    status, body = await delete_with(api, token, authenticator.get(await login_options(api)))
    assert (status, error_code(body)) == (400, "invalid_passkey")
    await still_there(api, token, authenticator)
    # a second-factor challenge's options neither
    with_mfa = await login_options(api, await mfa_challenge_of(api, token))
    status, body = await delete_with(api, token, authenticator.get(with_mfa))
    assert (status, error_code(body)) == (400, "invalid_passkey")
    # a registration challenge neither
    status, creation, _ = await api.post("/auth/passkeys/register/options", token=token)
    as_get = {"challenge": creation["options"]["challenge"], "rpId": "localhost"}
    status, body = await delete_with(api, token, authenticator.get(as_get))
    assert (status, error_code(body)) == (400, "invalid_passkey")
    await still_there(api, token, authenticator)
    # and a deletion challenge signs nobody in
    status, body = await passkey_login(api, authenticator.get(await deletion_options(api, token)))
    assert (status, error_code(body)) == (400, "invalid_passkey")
    await still_there(api, token, authenticator)


async def mfa_challenge_of(api: AuthClient, token: str) -> str:
    await with_totp(api, token)
    status, answer, _ = await api.post("/auth/login", {"email": ADA, "password": PASSWORD})
    assert (status, answer["token_type"]) == (200, "mfa"), answer
    return str(answer["challenge"])


async def test_a_replayed_deletion_answer_is_refused(api: AuthClient) -> None:
    token = (await api.signed_up(ADA))["access_token"]
    authenticator = SoftAuthenticator(counting=False)  # a synced passkey: its counter stays 0
    await register(api, token, authenticator)
    options = await deletion_options(api, token)
    answer = authenticator.get(options)
    # without user verification: refused before the spend
    status, body = await delete_with(api, token, authenticator.get(options, verified=False))
    assert (status, error_code(body)) == (400, "invalid_passkey")
    assert "user verification" in body["error"]["message"]
    await still_there(api, token, authenticator)
    # the credential answers a later challenge (a sign-in): the captured deletion answer, to
    # an older challenge, is spent
    assert (await passkey_login(api, authenticator.get(await login_options(api))))[0] == 200
    status, body = await delete_with(api, token, answer)
    assert (status, error_code(body)) == (400, "invalid_passkey")
    await still_there(api, token, authenticator)


async def test_one_deletion_answer_sent_twice_at_once_deletes_once(
    api: AuthClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="flowhub.events")
    token = (await api.signed_up(ADA))["access_token"]
    authenticator = SoftAuthenticator(counting=False)
    await register(api, token, authenticator)
    answer = authenticator.get(await deletion_options(api, token))
    results = await asyncio.gather(delete_with(api, token, answer), delete_with(api, token, answer))
    statuses = sorted(status for status, _ in results)
    assert statuses[0] == 204 and statuses[1] in (400, 401), results
    deleted = [r for r in caplog.records if getattr(r, "event", "") == "account_deleted"]
    assert len(deleted) == 1
