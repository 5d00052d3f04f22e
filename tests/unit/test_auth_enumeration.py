"""No answer tells whether an address has an account, and neither does the work behind it:
known and unknown addresses make the same calls to the stores, the limiter and the hasher
before the answer (mail goes out after it, in the background)."""

from __future__ import annotations

import pytest

from domain.auth.errors import InvalidCredentials, InvalidOtp
from domain.auth.model import OtpPurpose
from tests.unit.auth_fixtures import PASSWORD, World, build_world

pytestmark = pytest.mark.unit

KNOWN = "ada@example.com"
PENDING = "pending@example.com"
UNKNOWN = "nobody@example.com"


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
async def world(calls: list[str]) -> World:
    world = build_world(calls)
    await world.verified_user(KNOWN)
    await world.registration.signup(PENDING, PASSWORD, "Pat", ip="10.0.0.2")
    await world.tasks.drain(5)
    world.clock.advance(61)
    return world


async def signup_calls(world: World, calls: list[str], email: str) -> list[str]:
    calls.clear()
    await world.registration.signup(email, "another password!", "Eve", ip="10.0.0.9")
    made = list(calls)
    await world.tasks.drain(5)
    # the one write: an insert for a new address, a replace that holds only while unverified
    return [c.replace("users.add", "users.write").replace("users.replace_unverified", "users.write")
            for c in made]  # fmt: skip


async def test_signup_makes_the_same_calls_for_new_pending_and_verified_addresses(
    world: World, calls: list[str]
) -> None:
    new = await signup_calls(world, calls, UNKNOWN)
    pending = await signup_calls(world, calls, PENDING)
    verified = await signup_calls(world, calls, KNOWN)

    assert new == pending == verified
    assert new == ["limiter.hit", "users.by_email", "hasher.hash", "users.write", "limiter.claim"]


async def test_a_code_guess_makes_the_same_calls_for_known_and_unknown_addresses(
    world: World, calls: list[str]
) -> None:
    made = {}
    for email in (KNOWN, UNKNOWN):
        calls.clear()
        with pytest.raises(InvalidOtp):
            await world.email_codes.verify_code(email, OtpPurpose.LOGIN, "000000")
        made[email] = list(calls)

    assert made[KNOWN] == made[UNKNOWN] == ["users.by_email", "otp.attempt"]


async def test_a_login_makes_the_same_calls_for_known_and_unknown_addresses(
    world: World, calls: list[str]
) -> None:
    made = {}
    for email in (KNOWN, UNKNOWN):
        calls.clear()
        with pytest.raises(InvalidCredentials):
            await world.password_login.login(email, "wrong password!", ip="10.0.0.3")
        made[email] = [c for c in calls if c != "hasher.hash"]  # the dummy hash, made once

    assert made[KNOWN] == made[UNKNOWN]
    assert made[KNOWN].count("hasher.verify") == 1
