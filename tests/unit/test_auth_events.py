"""The auth use cases tell the operators' log what happened, through the EventLog port, with ids and
outcomes only."""

from __future__ import annotations

import json

import pytest

from domain.auth.errors import InvalidCredentials, InvalidOtp, TokenReused
from domain.auth.model import OtpPurpose, ResetGrant
from domain.errors import TooManyRequests
from tests.unit.auth_fixtures import PASSWORD, World, build_world

pytestmark = pytest.mark.unit

EMAIL = "ada@example.com"


@pytest.fixture
def world() -> World:
    return build_world()


async def test_signup_and_verification_are_recorded(world: World) -> None:
    pair = await world.verified_user(EMAIL)
    user_id = pair.user.id

    assert world.events.names() == [
        "signup", "otp_sent", "otp_verified", "email_verified", "login",
    ]  # fmt: skip
    assert world.events.named("signup") == [{"user_id": user_id, "outcome": "created"}]
    assert world.events.named("otp_sent") == [{"user_id": user_id, "purpose": "verify_email"}]
    [login] = world.events.named("login")
    assert login["method"] == "code:verify_email" and login["user_id"] == user_id


async def test_a_password_login_and_a_code_login_say_how(world: World) -> None:
    await world.verified_user(EMAIL)
    await world.password_login.login(EMAIL, PASSWORD, ip="10.0.0.1")
    world.clock.advance(61)
    code = await world.request_and_read(EMAIL, OtpPurpose.LOGIN)
    await world.email_codes.verify_code(EMAIL, OtpPurpose.LOGIN, code, ip="10.0.0.1")

    assert [e["method"] for e in world.events.named("login")] == [
        "code:verify_email", "password", "code:login",
    ]  # fmt: skip


async def test_a_password_reset_is_recorded(world: World) -> None:
    pair = await world.verified_user(EMAIL)
    world.clock.advance(61)
    code = await world.request_and_read(EMAIL, OtpPurpose.PASSWORD_RESET)
    grant = await world.email_codes.verify_code(
        EMAIL, OtpPurpose.PASSWORD_RESET, code, ip="10.0.0.1"
    )
    assert isinstance(grant, ResetGrant)
    await world.password_reset.reset_password(grant.reset_token, "a brand new password")

    assert world.events.named("password_reset") == [{"user_id": pair.user.id}]


async def test_a_reused_refresh_token_is_a_notable_event(world: World) -> None:
    pair = await world.verified_user(EMAIL)
    await world.sessions.refresh(pair.refresh_token)
    world.clock.advance(11)  # past the grace window
    with pytest.raises(TokenReused):
        await world.sessions.refresh(pair.refresh_token)

    [reused] = [e for e in world.events.events if e.name == "token_reused"]
    assert reused.notable
    assert reused.fields["user_id"] == pair.user.id


async def test_each_use_of_the_refresh_grace_is_a_notable_event(world: World) -> None:
    pair = await world.verified_user(EMAIL)
    await world.sessions.refresh(pair.refresh_token)
    await world.sessions.refresh(pair.refresh_token)  # the late tab

    [used] = [e for e in world.events.events if e.name == "refresh_grace_used"]
    assert used.notable
    assert used.fields["user_id"] == pair.user.id
    assert used.fields["generation"] == 1


async def test_events_carry_no_personal_data(world: World) -> None:
    pair = await world.verified_user(EMAIL)
    await world.password_login.login(EMAIL, PASSWORD, ip="10.0.0.1")
    await world.sessions.logout(pair.user.id, pair.refresh_token)
    await world.sessions.logout_all(pair.user.id)
    code = await world.last_code(EMAIL)

    recorded = json.dumps([e.fields for e in world.events.events])
    for personal in (EMAIL, "Ada", PASSWORD, code, pair.refresh_token, pair.access_token):
        assert personal not in recorded
    assert {"logout", "logout_all"} <= set(world.events.names())


# Security events (issue 14 item 18): every refused guess and every lockout names the account
# by id (or `unknown`), never by its address.


async def test_a_wrong_password_is_a_notable_event_naming_the_account(world: World) -> None:
    pair = await world.verified_user(EMAIL)
    with pytest.raises(InvalidCredentials):
        await world.password_login.login(EMAIL, "not the password", ip="10.0.0.1")
    with pytest.raises(InvalidCredentials):
        await world.password_login.login("nobody@example.com", "whatever it is", ip="10.0.0.1")

    failed = [e for e in world.events.events if e.name == "login_failed"]
    assert [e.notable for e in failed] == [True, True]
    assert [e.fields for e in failed] == [{"user_id": pair.user.id}, {"account": "unknown"}]


async def test_a_login_lockout_is_a_notable_event(world: World) -> None:
    pair = await world.verified_user(EMAIL)
    for _ in range(world.password_login.policy.login_failures_per_minute):
        with pytest.raises(InvalidCredentials):
            await world.password_login.login(EMAIL, "not the password", ip="10.0.0.1")
    with pytest.raises(TooManyRequests):
        await world.password_login.login(EMAIL, PASSWORD, ip="10.0.0.1")

    [refused] = [e for e in world.events.events if e.name == "login_refused"]
    assert refused.notable
    assert refused.fields["user_id"] == pair.user.id and refused.fields["reason"] == "locked"


async def test_wrong_codes_and_the_code_lock_are_notable_events(world: World) -> None:
    pair = await world.verified_user(EMAIL)
    world.clock.advance(61)
    code = await world.request_and_read(EMAIL, OtpPurpose.LOGIN)
    wrong = "000000" if code != "000000" else "111111"
    attempts = world.email_codes.policy.otp_wrong_per_client_hour
    for _ in range(attempts):  # the code dies after 5; the client's hourly count goes on
        with pytest.raises(InvalidOtp):
            await world.email_codes.verify_code(EMAIL, OtpPurpose.LOGIN, wrong, ip="10.0.0.1")
    with pytest.raises(TooManyRequests):
        await world.email_codes.verify_code(EMAIL, OtpPurpose.LOGIN, code, ip="10.0.0.1")

    wrongs = [e for e in world.events.events if e.name == "otp_wrong"]
    assert len(wrongs) >= attempts and all(e.notable for e in wrongs)
    assert wrongs[0].fields == {"user_id": pair.user.id, "purpose": "login"}
    [locked] = [e for e in world.events.events if e.name == "otp_locked"]
    assert locked.notable and locked.fields["user_id"] == pair.user.id
    recorded = json.dumps([e.fields for e in world.events.events])
    assert EMAIL not in recorded and wrong not in recorded
