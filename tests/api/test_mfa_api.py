"""The second factor through the HTTP app: enrolment, the login challenge's shape, completing
it, recovery codes, disabling, and the errors' statuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest
import pytest_asyncio

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


def code(secret: str, ahead: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(datetime.now(UTC)) + ahead)


def error_code(body: Any) -> str:
    return str(body["error"]["code"])


async def enrolled(api: AuthClient) -> tuple[str, str, list[str]]:
    """(access token, secret, recovery codes) of a user with TOTP enabled."""
    token = (await api.signed_up(EMAIL))["access_token"]
    status, enrolment, _ = await api.post("/auth/mfa/totp", token=token)
    assert status == 200, enrolment
    assert set(enrolment) == {"secret", "uri"}
    assert enrolment["uri"].startswith("otpauth://totp/FlowHub:")
    status, confirmed, _ = await api.post(
        "/auth/mfa/totp/confirm", {"code": code(enrolment["secret"])}, token=token
    )
    assert status == 200, confirmed
    return token, enrolment["secret"], confirmed["recovery_codes"]


async def login(api: AuthClient) -> dict[str, Any]:
    status, body, _ = await api.post("/auth/login", {"email": EMAIL, "password": PASSWORD})
    assert status == 200, body
    return dict(body)


async def test_a_login_without_a_factor_answers_tokens(api: AuthClient) -> None:
    await api.signed_up(EMAIL)
    assert (await login(api))["token_type"] == "bearer"


async def test_enrolment_status_and_confirmation(api: AuthClient) -> None:
    token = (await api.signed_up(EMAIL))["access_token"]
    status, before, _ = await api.get("/auth/mfa/totp", token=token)
    assert (status, before) == (200, {"enabled": False, "pending": False, "recovery_codes_left": 0})
    status, body, _ = await api.post("/auth/mfa/totp/confirm", {"code": "123456"}, token=token)
    assert (status, error_code(body)) == (409, "mfa_not_enabled")
    status, enrolment, _ = await api.post("/auth/mfa/totp", token=token)
    status, pending, _ = await api.get("/auth/mfa/totp", token=token)
    assert pending == {"enabled": False, "pending": True, "recovery_codes_left": 0}
    wrong = "000000" if code(enrolment["secret"]) != "000000" else "111111"
    status, body, _ = await api.post("/auth/mfa/totp/confirm", {"code": wrong}, token=token)
    assert (status, error_code(body)) == (400, "invalid_otp")
    status, body, _ = await api.post("/auth/mfa/totp/confirm", {"code": "12ab56"}, token=token)
    assert (status, error_code(body)) == (422, "validation_error")
    status, confirmed, _ = await api.post(
        "/auth/mfa/totp/confirm", {"code": code(enrolment["secret"])}, token=token
    )
    assert status == 200
    assert len(confirmed["recovery_codes"]) == 10
    status, after, _ = await api.get("/auth/mfa/totp", token=token)
    assert after == {"enabled": True, "pending": False, "recovery_codes_left": 10}
    status, body, _ = await api.post("/auth/mfa/totp", token=token)
    assert (status, error_code(body)) == (409, "mfa_already_enabled")


async def test_a_login_answers_a_challenge_that_a_code_completes(api: AuthClient) -> None:
    _, secret, _ = await enrolled(api)
    answer = await login(api)
    assert set(answer) == {"token_type", "mfa_required", "challenge", "expires_in"}
    assert (answer["token_type"], answer["mfa_required"], answer["expires_in"]) == (
        "mfa",
        True,
        300,
    )
    status, pair, _ = await api.post(
        "/auth/mfa", {"challenge": answer["challenge"], "code": code(secret, ahead=1)}
    )
    assert status == 200, pair
    assert pair["token_type"] == "bearer" and pair["user"]["email"] == EMAIL
    status, me, _ = await api.get("/users/me", token=pair["access_token"])
    assert (status, me["email"]) == (200, EMAIL)
    # single use
    status, body, _ = await api.post(
        "/auth/mfa", {"challenge": answer["challenge"], "code": code(secret, ahead=1)}
    )
    assert (status, error_code(body)) == (401, "invalid_mfa_challenge")
    # the same code through a fresh challenge: replayed
    status, body, _ = await api.post(
        "/auth/mfa", {"challenge": (await login(api))["challenge"], "code": code(secret, 1)}
    )
    assert (status, error_code(body)) == (400, "invalid_otp")


async def test_an_email_code_login_answers_a_challenge(api: AuthClient) -> None:
    _, _, recovery = await enrolled(api)
    status, _, _ = await api.post("/auth/otp/request", {"email": EMAIL, "purpose": "login"})
    assert status == 202
    status, answer, _ = await api.post(
        "/auth/otp/verify",
        {"email": EMAIL, "purpose": "login", "code": await api.code(EMAIL)},
    )
    assert status == 200 and answer["token_type"] == "mfa", answer
    status, pair, _ = await api.post(
        "/auth/mfa", {"challenge": answer["challenge"], "code": recovery[0]}
    )
    assert (status, pair["token_type"]) == (200, "bearer")


async def test_a_tampered_challenge_is_refused(api: AuthClient) -> None:
    _, secret, _ = await enrolled(api)
    challenge = (await login(api))["challenge"]
    tampered = challenge[:-2] + ("AA" if not challenge.endswith("AA") else "BB")
    status, body, _ = await api.post("/auth/mfa", {"challenge": tampered, "code": code(secret, 1)})
    assert (status, error_code(body)) == (401, "invalid_mfa_challenge")
    status, body, _ = await api.post("/auth/mfa", {"challenge": challenge})
    assert (status, error_code(body)) == (422, "validation_error")


async def test_recovery_codes_are_single_use_and_can_be_regenerated(api: AuthClient) -> None:
    token, _, recovery = await enrolled(api)
    status, _, _ = await api.post(
        "/auth/mfa", {"challenge": (await login(api))["challenge"], "code": recovery[3]}
    )
    assert status == 200
    status, body, _ = await api.post(
        "/auth/mfa", {"challenge": (await login(api))["challenge"], "code": recovery[3]}
    )
    assert (status, error_code(body)) == (400, "invalid_otp")
    status, body, _ = await api.post(
        "/auth/mfa/totp/recovery-codes", {"password": "wrong password"}, token=token
    )
    assert (status, error_code(body)) == (401, "invalid_credentials")
    status, fresh, _ = await api.post(
        "/auth/mfa/totp/recovery-codes", {"password": PASSWORD}, token=token
    )
    assert status == 200 and len(fresh["recovery_codes"]) == 10
    status, body, _ = await api.post(
        "/auth/mfa", {"challenge": (await login(api))["challenge"], "code": recovery[4]}
    )
    assert (status, error_code(body)) == (400, "invalid_otp")


async def test_disabling_with_a_code_or_the_password(api: AuthClient) -> None:
    token, secret, _ = await enrolled(api)
    # exactly one proof: neither, or both, is refused before anything is checked or counted
    for body_sent in ({}, {"code": code(secret, 1), "password": PASSWORD}):
        status, body, _ = await api.send("DELETE", "/auth/mfa/totp", body_sent, token=token)
        assert (status, error_code(body)) == (422, "validation_error"), body_sent
    status, _, _ = await api.send("DELETE", "/auth/mfa/totp", {"code": code(secret, 1)}, token)
    assert status == 204
    assert (await login(api))["token_type"] == "bearer"
    status, body, _ = await api.send("DELETE", "/auth/mfa/totp", {"password": PASSWORD}, token)
    assert (status, error_code(body)) == (409, "mfa_not_enabled")


async def test_the_routes_need_a_session(api: AuthClient) -> None:
    for method, path in (
        ("GET", "/auth/mfa/totp"),
        ("POST", "/auth/mfa/totp"),
        ("POST", "/auth/mfa/totp/confirm"),
        ("POST", "/auth/mfa/totp/recovery-codes"),
        ("DELETE", "/auth/mfa/totp"),
    ):
        status, body, _ = await api.send(method, path, {"code": "123456"})
        assert (status, error_code(body)) == (401, "unauthorized"), (method, path)
