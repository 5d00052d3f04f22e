"""Auth use cases on memory adapters: signup, codes, login, reset, rotation."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from domain.auth.errors import (
    EmailNotVerified,
    InvalidCredentials,
    InvalidOtp,
    InvalidToken,
    TokenReused,
)
from domain.auth.model import OtpPurpose, ResetGrant, TokenPair
from domain.errors import TooManyRequests, Unauthorized
from tests.unit.auth_fixtures import PASSWORD, World, build_world, tokens

pytestmark = pytest.mark.unit

EMAIL = "ada@example.com"


@pytest.fixture
def world() -> World:
    return build_world()


# signup and verification ----------------------------------------------------------------


async def test_signup_creates_an_unverified_user_and_mails_a_code(world: World) -> None:
    await world.registration.signup(EMAIL, PASSWORD, "Ada", ip="10.0.0.1")
    user = await world.users.by_email(EMAIL)
    assert user is not None
    assert not user.email_verified
    assert user.password_hash != PASSWORD
    code = await world.last_code(EMAIL)
    pending = await world.otp.get(user.id, OtpPurpose.VERIFY_EMAIL)
    assert pending is not None
    assert pending.purpose is OtpPurpose.VERIFY_EMAIL
    assert code not in pending.code_hash


async def test_the_mailed_code_verifies_the_email_and_signs_in(world: World) -> None:
    pair = await world.verified_user()
    assert pair.user.email == EMAIL
    assert pair.user.email_verified
    claims = world.tokens.verify(pair.access_token, world.clock.now())
    assert claims.user_id == pair.user.id


async def test_signup_with_a_registered_address_sends_a_notice_not_a_code(world: World) -> None:
    first = await world.verified_user()
    world.clock.advance(61)
    await world.registration.signup(EMAIL, "another password!", "Mallory", ip="10.0.0.2")
    subjects = await world.mail_to(EMAIL)
    assert subjects[0] == "Someone tried to sign up with your address"
    user = await world.users.by_email(EMAIL)
    assert user is not None
    assert user.id == first.user.id
    assert user.name == "Ada"


async def test_signup_again_before_verifying_sends_a_new_code(world: World) -> None:
    await world.registration.signup(EMAIL, PASSWORD, "Ada", ip="10.0.0.1")
    first = await world.last_code(EMAIL)
    world.clock.advance(61)
    await world.registration.signup(EMAIL, PASSWORD, "Ada", ip="10.0.0.1")
    assert len(await world.mail_to(EMAIL)) == 2
    second = await world.last_code(EMAIL)
    with pytest.raises(InvalidOtp):
        await world.email_codes.verify_email(
            EMAIL, first if first != second else "000000", ip="10.0.0.1"
        )
    pair = tokens(await world.email_codes.verify_email(EMAIL, second, ip="10.0.0.1"))
    assert pair.user.email_verified


async def test_signups_from_one_address_are_rate_limited(world: World) -> None:
    for i in range(20):
        await world.registration.signup(f"user{i}@example.com", PASSWORD, "U", ip="10.9.9.9")
    with pytest.raises(TooManyRequests):
        await world.registration.signup("one-more@example.com", PASSWORD, "U", ip="10.9.9.9")
    await world.registration.signup("other-ip@example.com", PASSWORD, "U", ip="10.9.9.8")


# login ----------------------------------------------------------------------------------


async def test_login_with_the_right_password_opens_a_session(world: World) -> None:
    await world.verified_user()
    pair = tokens(await world.password_login.login(EMAIL, PASSWORD, ip="10.0.0.1"))
    assert pair.refresh_token
    assert pair.token_type == "bearer"


async def test_unknown_email_and_wrong_password_fail_the_same_way(world: World) -> None:
    await world.verified_user()
    with pytest.raises(InvalidCredentials) as wrong:
        await world.password_login.login(EMAIL, "wrong password", ip="10.0.0.1")
    with pytest.raises(InvalidCredentials) as unknown:
        await world.password_login.login("nobody@example.com", PASSWORD, ip="10.0.0.1")
    assert wrong.value.message == unknown.value.message


async def test_an_unverified_user_cannot_log_in_with_a_password(world: World) -> None:
    await world.registration.signup(EMAIL, PASSWORD, "Ada", ip="10.0.0.1")
    with pytest.raises(EmailNotVerified):
        await world.password_login.login(EMAIL, PASSWORD, ip="10.0.0.1")


async def test_five_failed_logins_in_a_minute_lock_the_account_for_the_minute(
    world: World,
) -> None:
    await world.verified_user()
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await world.password_login.login(EMAIL, "wrong password", ip="10.0.0.1")
    with pytest.raises(TooManyRequests) as limited:
        await world.password_login.login(EMAIL, PASSWORD, ip="10.0.0.1")
    assert 0 < limited.value.retry_after_s <= 60
    world.clock.advance(61)
    assert await world.password_login.login(EMAIL, PASSWORD, ip="10.0.0.1")


async def test_failed_logins_for_unknown_emails_are_limited_too(world: World) -> None:
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await world.password_login.login("ghost@example.com", "whatever pw", ip="10.0.0.1")
    with pytest.raises(TooManyRequests):
        await world.password_login.login("ghost@example.com", "whatever pw", ip="10.0.0.1")


# email codes ----------------------------------------------------------------------------


async def test_code_requests_answer_the_same_for_known_and_unknown_addresses(
    world: World,
) -> None:
    await world.verified_user()
    await world.email_codes.request_code(EMAIL, OtpPurpose.LOGIN, ip="10.0.0.1")
    await world.email_codes.request_code("nobody@example.com", OtpPurpose.LOGIN, ip="10.0.0.1")
    assert len(await world.mail_to(EMAIL)) == 2
    assert await world.mail_to("nobody@example.com") == []
    for address in (EMAIL, "nobody@example.com"):
        with pytest.raises(TooManyRequests):
            await world.email_codes.request_code(address, OtpPurpose.LOGIN, ip="10.0.0.1")


async def test_passwordless_login_with_a_code(world: World) -> None:
    await world.verified_user()
    code = await world.request_and_read(EMAIL, OtpPurpose.LOGIN)
    pair = await world.email_codes.verify_code(EMAIL, OtpPurpose.LOGIN, code, ip="10.0.0.1")
    assert isinstance(pair, TokenPair)
    with pytest.raises(InvalidOtp):  # single use
        await world.email_codes.verify_code(EMAIL, OtpPurpose.LOGIN, code, ip="10.0.0.1")


async def test_a_code_is_only_good_for_its_purpose(world: World) -> None:
    await world.verified_user()
    code = await world.request_and_read(EMAIL, OtpPurpose.LOGIN)
    with pytest.raises(InvalidOtp):
        await world.email_codes.verify_code(EMAIL, OtpPurpose.PASSWORD_RESET, code, ip="10.0.0.1")


async def test_a_code_expires_after_five_minutes(world: World) -> None:
    await world.verified_user()
    code = await world.request_and_read(EMAIL, OtpPurpose.LOGIN)
    world.clock.advance(301)
    with pytest.raises(InvalidOtp):
        await world.email_codes.verify_code(EMAIL, OtpPurpose.LOGIN, code, ip="10.0.0.1")


async def test_five_wrong_tries_burn_the_code(world: World) -> None:
    await world.verified_user()
    code = await world.request_and_read(EMAIL, OtpPurpose.LOGIN)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(InvalidOtp):
            await world.email_codes.verify_code(EMAIL, OtpPurpose.LOGIN, wrong, ip="10.0.0.1")
    with pytest.raises(InvalidOtp):
        await world.email_codes.verify_code(EMAIL, OtpPurpose.LOGIN, code, ip="10.0.0.1")


async def test_more_than_ten_wrong_codes_an_hour_lock_codes_even_with_new_ones(
    world: World,
) -> None:
    await world.verified_user()
    for _ in range(2):
        await world.request_and_read(EMAIL, OtpPurpose.LOGIN)
        for _ in range(5):
            with pytest.raises(InvalidOtp):
                await world.email_codes.verify_code(
                    EMAIL, OtpPurpose.LOGIN, "not-it", ip="10.0.0.1"
                )
        world.clock.advance(61)
    code = await world.request_and_read(EMAIL, OtpPurpose.LOGIN)
    with pytest.raises(TooManyRequests):
        await world.email_codes.verify_code(EMAIL, OtpPurpose.LOGIN, code, ip="10.0.0.1")
    world.clock.advance(3601)
    code = await world.request_and_read(EMAIL, OtpPurpose.LOGIN)
    assert await world.email_codes.verify_code(EMAIL, OtpPurpose.LOGIN, code, ip="10.0.0.1")


async def test_a_login_code_verifies_an_unverified_address(world: World) -> None:
    await world.registration.signup(EMAIL, PASSWORD, "Ada", ip="10.0.0.1")
    world.clock.advance(61)
    code = await world.request_and_read(EMAIL, OtpPurpose.LOGIN)
    pair = await world.email_codes.verify_code(EMAIL, OtpPurpose.LOGIN, code, ip="10.0.0.1")
    assert isinstance(pair, TokenPair)
    assert pair.user.email_verified


# password reset -------------------------------------------------------------------------


async def reset_grant(world: World) -> ResetGrant:
    code = await world.request_and_read(EMAIL, OtpPurpose.PASSWORD_RESET)
    grant = await world.email_codes.verify_code(
        EMAIL, OtpPurpose.PASSWORD_RESET, code, ip="10.0.0.1"
    )
    assert isinstance(grant, ResetGrant)
    return grant


async def test_password_reset_changes_the_password_and_signs_out_everywhere(
    world: World,
) -> None:
    pair = await world.verified_user()
    grant = await reset_grant(world)
    await world.password_reset.reset_password(grant.reset_token, "brand new password")
    with pytest.raises(InvalidCredentials):
        await world.password_login.login(EMAIL, PASSWORD, ip="10.0.0.1")
    assert await world.password_login.login(EMAIL, "brand new password", ip="10.0.0.1")
    with pytest.raises(Unauthorized):
        await world.sessions.refresh(pair.refresh_token)


async def test_a_reset_token_works_once(world: World) -> None:
    await world.verified_user()
    grant = await reset_grant(world)
    await world.password_reset.reset_password(grant.reset_token, "brand new password")
    with pytest.raises(InvalidToken):
        await world.password_reset.reset_password(grant.reset_token, "another new password")


async def test_an_expired_or_tampered_reset_token_is_refused(world: World) -> None:
    await world.verified_user()
    grant = await reset_grant(world)
    user_id, grant_id, expires, mac = grant.reset_token.split(".")
    forged = f"{user_id}.{grant_id}.{int(expires) + 3600}.{mac}"
    with pytest.raises(InvalidToken):
        await world.password_reset.reset_password(forged, "brand new password")
    with pytest.raises(InvalidToken):
        await world.password_reset.reset_password("garbage", "brand new password")
    world.clock.advance(301)
    with pytest.raises(InvalidToken):
        await world.password_reset.reset_password(grant.reset_token, "brand new password")


# refresh rotation -----------------------------------------------------------------------


async def test_refresh_spends_the_token_and_issues_a_new_pair(world: World) -> None:
    pair = await world.verified_user()
    rotated = await world.sessions.refresh(pair.refresh_token)
    assert rotated.refresh_token != pair.refresh_token
    again = await world.sessions.refresh(rotated.refresh_token)
    assert again.refresh_token not in (pair.refresh_token, rotated.refresh_token)


async def test_a_spent_token_within_the_grace_window_gets_the_current_token(
    world: World,
) -> None:
    pair = await world.verified_user()
    rotated = await world.sessions.refresh(pair.refresh_token)
    world.clock.advance(5)
    late_tab = await world.sessions.refresh(pair.refresh_token)
    assert late_tab.refresh_token == rotated.refresh_token
    assert await world.sessions.refresh(rotated.refresh_token)


async def test_the_grace_answers_a_spent_token_once_then_it_is_a_reuse(
    world: World,
) -> None:
    pair = await world.verified_user()
    rotated = await world.sessions.refresh(pair.refresh_token)
    late_tab = await world.sessions.refresh(pair.refresh_token)
    assert late_tab.refresh_token == rotated.refresh_token
    with pytest.raises(TokenReused):  # the thief replaying it inside the window too
        await world.sessions.refresh(pair.refresh_token)
    with pytest.raises(Unauthorized):
        await world.sessions.refresh(rotated.refresh_token)


async def test_the_grace_window_is_five_seconds(world: World) -> None:
    pair = await world.verified_user()
    await world.sessions.refresh(pair.refresh_token)
    world.clock.advance(5.5)
    with pytest.raises(TokenReused):
        await world.sessions.refresh(pair.refresh_token)


async def test_two_tabs_refreshing_at_once_both_stay_signed_in(world: World) -> None:
    pair = await world.verified_user()
    first, second = await asyncio.gather(
        world.sessions.refresh(pair.refresh_token), world.sessions.refresh(pair.refresh_token)
    )
    assert first.refresh_token == second.refresh_token
    assert await world.sessions.refresh(first.refresh_token)


async def test_a_spent_refresh_token_revokes_the_whole_family(world: World) -> None:
    pair = await world.verified_user()
    rotated = await world.sessions.refresh(pair.refresh_token)
    world.clock.advance(11)
    with pytest.raises(TokenReused):
        await world.sessions.refresh(pair.refresh_token)
    with pytest.raises(Unauthorized):
        await world.sessions.refresh(rotated.refresh_token)


async def test_a_forged_refresh_token_does_not_revoke_anything(world: World) -> None:
    pair = await world.verified_user()
    family_id, generation, mac = pair.refresh_token.split(".")
    forged = f"{family_id}.{int(generation) + 5}.{mac}"
    for token in (forged, f"{family_id}.{generation}.{mac[:-2]}xx", "", "a.b", "x.1.y"):
        with pytest.raises(Unauthorized) as caught:
            await world.sessions.refresh(token)
        assert not isinstance(caught.value, TokenReused)
    assert await world.sessions.refresh(pair.refresh_token)


async def test_refresh_tokens_expire_after_thirty_days(world: World) -> None:
    pair = await world.verified_user()
    world.clock.advance(30 * 24 * 3600 + 1)
    with pytest.raises(Unauthorized):
        await world.sessions.refresh(pair.refresh_token)


async def test_logout_revokes_one_session_and_logout_all_every_one(world: World) -> None:
    first = await world.verified_user()
    second = tokens(await world.password_login.login(EMAIL, PASSWORD, ip="10.0.0.1"))
    third = tokens(await world.password_login.login(EMAIL, PASSWORD, ip="10.0.0.1"))
    await world.sessions.logout(first.user.id, first.refresh_token)
    with pytest.raises(Unauthorized):
        await world.sessions.refresh(first.refresh_token)
    second = await world.sessions.refresh(second.refresh_token)
    await world.sessions.logout_all(first.user.id)
    for pair in (second, third):
        with pytest.raises(Unauthorized):
            await world.sessions.refresh(pair.refresh_token)


async def test_logout_with_someone_elses_token_changes_nothing(world: World) -> None:
    ada = await world.verified_user()
    bob = await world.verified_user("bob@example.com")
    await world.sessions.logout(bob.user.id, ada.refresh_token)
    assert await world.sessions.refresh(ada.refresh_token)


# the signed-in user ---------------------------------------------------------------------


async def test_me_is_cached_and_a_rename_refreshes_it(world: World) -> None:
    pair = await world.verified_user()
    assert (await world.profiles.me(pair.user.id)).name == "Ada"
    renamed = await world.profiles.rename(pair.user.id, "Ada Lovelace")
    assert renamed.name == "Ada Lovelace"
    assert (await world.profiles.me(pair.user.id)).name == "Ada Lovelace"
    assert (await world.profiles.me(pair.user.id)).created_at == pair.user.created_at


# authentication -------------------------------------------------------------------------


async def test_an_access_token_authenticates_as_its_user_and_session(world: World) -> None:
    pair = await world.verified_user()

    principal = await world.authenticator.authenticate(pair.access_token)

    assert principal.user_id == pair.user.id
    family_id = pair.refresh_token.split(".")[0]
    assert principal.session_id == family_id
    assert principal.expires_at == world.clock.now().replace(microsecond=0) + timedelta(
        seconds=pair.expires_in
    )


async def test_an_expired_or_tampered_access_token_authenticates_nobody(world: World) -> None:
    pair = await world.verified_user()
    with pytest.raises(Unauthorized):
        await world.authenticator.authenticate(pair.access_token[:-2] + "xx")
    world.clock.advance(pair.expires_in + 1)
    with pytest.raises(Unauthorized):
        await world.authenticator.authenticate(pair.access_token)


# an unverified account belongs to nobody ------------------------------------------------


async def test_a_verify_code_activates_only_the_registration_it_was_mailed_for(
    world: World,
) -> None:
    await world.registration.signup(EMAIL, "mallory's password", "Mallory", ip="10.0.0.6")
    mallorys = await world.last_code(EMAIL)
    await world.registration.signup(EMAIL, PASSWORD, "Ada", ip="10.0.0.1")
    adas = await world.last_code(EMAIL)  # the newest mail

    stale = mallorys if mallorys != adas else "000000"  # one chance in a million
    with pytest.raises(InvalidOtp):
        await world.email_codes.verify_email(EMAIL, stale, ip="10.0.0.6")
    pair = tokens(await world.email_codes.verify_email(EMAIL, adas, ip="10.0.0.1"))

    assert pair.user.name == "Ada"
    with pytest.raises(InvalidCredentials):
        await world.password_login.login(EMAIL, "mallory's password", ip="10.0.0.6")
    assert await world.password_login.login(EMAIL, PASSWORD, ip="10.0.0.1")


async def test_a_signup_never_replaces_a_verified_accounts_password(world: World) -> None:
    await world.verified_user()
    world.clock.advance(61)

    await world.registration.signup(EMAIL, "mallory's password", "Mallory", ip="10.0.0.6")

    user = await world.users.by_email(EMAIL)
    assert user is not None
    assert user.name == "Ada"
    assert await world.password_login.login(EMAIL, PASSWORD, ip="10.0.0.1")


async def test_a_reset_code_on_a_never_verified_account_leaves_only_the_resetters_password(
    world: World,
) -> None:
    await world.registration.signup(EMAIL, "mallory's password", "Mallory", ip="10.0.0.6")
    world.clock.advance(61)
    grant = await reset_grant(world)

    await world.password_reset.reset_password(grant.reset_token, "the owner's new password")

    with pytest.raises(InvalidCredentials):
        await world.password_login.login(EMAIL, "mallory's password", ip="10.0.0.6")
    assert await world.password_login.login(EMAIL, "the owner's new password", ip="10.0.0.1")
