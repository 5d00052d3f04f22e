"""The TOTP second factor on memory adapters: enrolment, the login challenge, recovery codes,
replay, limits, disabling."""

from __future__ import annotations

import asyncio

import pyotp
import pytest

from domain.auth.errors import (
    InvalidCredentials,
    InvalidMfaChallenge,
    InvalidOtp,
    MfaAlreadyEnabled,
    MfaNotEnabled,
)
from domain.auth.model import MfaChallenge, OtpPurpose, TokenPair
from domain.errors import TooManyRequests
from tests.unit.auth_fixtures import PASSWORD, World, build_world, tokens

pytestmark = pytest.mark.unit

EMAIL = "ada@example.com"
IP = "10.0.0.1"


@pytest.fixture
def world() -> World:
    return build_world()


def code_now(world: World, secret: str, offset_steps: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(world.clock.now()) + offset_steps)


async def enrolled(world: World) -> tuple[str, str, list[str]]:
    """A verified user with TOTP enabled: (user id, secret, recovery codes). The clock moves
    one step on, so the confirming code's step is behind."""
    pair = await world.verified_user(EMAIL)
    enrolment = await world.mfa_settings.start(pair.user.id)
    codes = await world.mfa_settings.confirm(pair.user.id, code_now(world, enrolment.secret), IP)
    world.clock.advance(30)
    return pair.user.id, enrolment.secret, codes


async def challenge(world: World) -> str:
    """A fresh challenge; the clock moves a second on first (a challenge is spent with every
    one issued at or before the last one completed)."""
    world.clock.advance(1)
    result = await world.password_login.login(EMAIL, PASSWORD, ip=IP)
    assert isinstance(result, MfaChallenge), result
    return result.challenge


async def test_enrolment_answers_a_uri_and_stays_pending_until_confirmed(world: World) -> None:
    pair = await world.verified_user(EMAIL)
    enrolment = await world.mfa_settings.start(pair.user.id)
    assert enrolment.uri.startswith("otpauth://totp/FlowHub:ada%40example.com?secret=")
    assert enrolment.secret in enrolment.uri
    status = await world.mfa_settings.status(pair.user.id)
    assert (status.enabled, status.pending) == (False, True)
    # pending: a login still gets tokens
    assert isinstance(await world.password_login.login(EMAIL, PASSWORD, ip=IP), TokenPair)
    with pytest.raises(InvalidOtp):
        await world.mfa_settings.confirm(pair.user.id, "000000", IP)
    codes = await world.mfa_settings.confirm(pair.user.id, code_now(world, enrolment.secret), IP)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    status = await world.mfa_settings.status(pair.user.id)
    assert (status.enabled, status.recovery_codes_left) == (True, 10)
    with pytest.raises(MfaAlreadyEnabled):
        await world.mfa_settings.start(pair.user.id)


async def test_a_password_login_answers_a_challenge_a_code_completes(world: World) -> None:
    user_id, secret, _ = await enrolled(world)
    pair = await world.mfa_login.complete(await challenge(world), code_now(world, secret), IP)
    assert pair.user.id == user_id
    assert (await world.authenticator.authenticate(pair.access_token)).user_id == user_id
    assert world.events.named("login")[-1]["method"] == "password+totp"


async def test_an_email_code_login_answers_a_challenge_too(world: World) -> None:
    _, secret, _ = await enrolled(world)
    code = await world.request_and_read(EMAIL, OtpPurpose.LOGIN)
    result = await world.email_codes.verify_code(EMAIL, OtpPurpose.LOGIN, code, ip=IP)
    assert isinstance(result, MfaChallenge)
    assert await world.mfa_login.complete(result.challenge, code_now(world, secret), IP)


async def test_a_challenge_is_single_use_and_a_code_is_not_replayed(world: World) -> None:
    _, secret, _ = await enrolled(world)
    first = await challenge(world)
    code = code_now(world, secret)
    await world.mfa_login.complete(first, code, IP)
    with pytest.raises(InvalidMfaChallenge):
        await world.mfa_login.complete(first, code_now(world, secret, 1), IP)
    # the same code through a fresh challenge: its step is spent
    with pytest.raises(InvalidOtp):
        await world.mfa_login.complete(await challenge(world), code, IP)
    world.clock.advance(30)
    assert await world.mfa_login.complete(await challenge(world), code_now(world, secret), IP)


async def test_concurrent_completions_of_one_challenge_open_one_session(world: World) -> None:
    _, secret, _ = await enrolled(world)
    token, code = await challenge(world), code_now(world, secret)
    results = await asyncio.gather(
        *(world.mfa_login.complete(token, code, IP) for _ in range(10)), return_exceptions=True
    )
    assert sum(isinstance(r, TokenPair) for r in results) == 1
    assert all(isinstance(r, (TokenPair, InvalidOtp, InvalidMfaChallenge)) for r in results)


async def test_a_challenge_expires_and_cannot_be_forged(world: World) -> None:
    _, secret, _ = await enrolled(world)
    token = await challenge(world)
    user_id, method, issued, mac = token.split(".")
    with pytest.raises(InvalidMfaChallenge):
        await world.mfa_login.complete(f"{user_id}.{method}.{int(issued) + 1}.{mac}", "1" * 6, IP)
    world.clock.advance(301)
    with pytest.raises(InvalidMfaChallenge):
        await world.mfa_login.complete(token, code_now(world, secret), IP)


async def test_each_recovery_code_signs_in_once(world: World) -> None:
    user_id, _, codes = await enrolled(world)
    assert await world.mfa_login.complete(await challenge(world), codes[0].upper(), IP)
    with pytest.raises(InvalidOtp):
        await world.mfa_login.complete(await challenge(world), codes[0], IP)
    assert (await world.mfa_settings.status(user_id)).recovery_codes_left == 9
    # recovery codes are kept hashed only
    factor = await world.mfa_settings.factors.get(user_id)
    assert factor is not None
    assert not any(code.replace("-", "") in h for code in codes for h in factor.recovery_hashes)


async def test_regenerating_recovery_codes_retires_the_old_ones(world: World) -> None:
    user_id, _, old = await enrolled(world)
    new = await world.mfa_settings.regenerate(user_id, IP, code=None, password=PASSWORD)
    assert set(new).isdisjoint(old)
    with pytest.raises(InvalidOtp):
        await world.mfa_login.complete(await challenge(world), old[1], IP)
    assert await world.mfa_login.complete(await challenge(world), new[1], IP)


async def test_wrong_codes_lock_like_email_codes_across_challenges(world: World) -> None:
    _, secret, _ = await enrolled(world)
    limit = world.password_login.policy.otp_wrong_per_client_hour
    for _ in range(limit):
        with pytest.raises(InvalidOtp):
            await world.mfa_login.complete(await challenge(world), "000000", IP)
    # locked: the right code is not honoured either
    with pytest.raises(TooManyRequests):
        await world.mfa_login.complete(await challenge(world), code_now(world, secret), IP)
    # another address still may (no stranger locks the account alone)
    assert await world.mfa_login.complete(
        await challenge(world), code_now(world, secret), "10.0.0.2"
    )


async def test_parallel_guesses_get_no_more_answers_than_the_limit(world: World) -> None:
    _, _, _ = await enrolled(world)
    token = await challenge(world)
    guesses = [f"{n:06d}" for n in range(50)]
    results = await asyncio.gather(
        *(world.mfa_login.complete(token, g, IP) for g in guesses), return_exceptions=True
    )
    wrong = sum(isinstance(r, InvalidOtp) for r in results)
    locked = sum(isinstance(r, TooManyRequests) for r in results)
    signed_in = sum(isinstance(r, TokenPair) for r in results)
    limit = world.password_login.policy.otp_wrong_per_client_hour
    assert wrong + signed_in <= limit + 1
    assert locked >= 50 - limit - 1


async def test_disabling_needs_a_fresh_code_or_the_password(world: World) -> None:
    user_id, secret, _ = await enrolled(world)
    with pytest.raises(InvalidCredentials):
        await world.mfa_settings.disable(user_id, IP, code=None, password="not the password")
    with pytest.raises(InvalidOtp):
        await world.mfa_settings.disable(user_id, IP, code="000000", password=None)
    await world.mfa_settings.disable(user_id, IP, code=code_now(world, secret), password=None)
    assert isinstance(await world.password_login.login(EMAIL, PASSWORD, ip=IP), TokenPair)
    with pytest.raises(MfaNotEnabled):
        await world.mfa_settings.disable(user_id, IP, code=None, password=PASSWORD)


async def test_a_challenge_of_a_disabled_factor_is_refused(world: World) -> None:
    user_id, secret, _ = await enrolled(world)
    token = await challenge(world)
    await world.mfa_settings.disable(user_id, IP, code=None, password=PASSWORD)
    with pytest.raises(InvalidMfaChallenge):
        await world.mfa_login.complete(token, code_now(world, secret), IP)


def test_tokens_helper_refuses_a_challenge() -> None:
    with pytest.raises(AssertionError):
        tokens(MfaChallenge("x", 1))
