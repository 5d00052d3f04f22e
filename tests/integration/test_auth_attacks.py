"""Guessing attacks on auth (issue 14) against a real server process on Redis: a burst of
concurrent guesses must not get more evaluations than the limit allows.

Each request comes from its own client address (the server trusts `Fly-Client-IP`, as behind
Fly's proxy), so the per-address limits are not what stops the burst: the per-account ones are.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from redis.asyncio import Redis

from domain.auth.limits import cooldown_key
from domain.auth.secrets import Keyring
from tests.api.realtime_client import PASSWORD, sign_up
from tests.support.processes import ServerProcess, running_server

pytestmark = pytest.mark.integration

BURST = 50
ONE_CLIENTS_SHARE = 16  # of the in-flight places (MAX_IN_FLIGHT_PER_CLIENT): beyond, 503
LOGIN_FAILURES_PER_MINUTE = 5
OTP_WRONG_PER_CLIENT_HOUR = 10
OTP_WRONG_PER_HOUR = 30
REFRESH_SECRET = "k" * 48
_hosts = itertools.count(1)


@pytest.fixture(scope="module")
def server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"LOG_LEVEL": "WARNING", "REDIS_URL": redis_url, "JWT_REFRESH_SECRET": REFRESH_SECRET}
    # to a file: the bursts' security events outgrow a pipe nobody reads, and a full pipe
    # blocks the server's writes
    with running_server(env=env, log_dir=tmp_path_factory.mktemp("auth-attacks")) as process:
        yield process


def new_address() -> dict[str, str]:
    n = next(_hosts)
    return {"Fly-Client-IP": f"10.200.{n // 250 % 250}.{n % 250 + 1}"}


def unique_email(who: str) -> str:
    return f"{who}{time.monotonic_ns()}@example.com"


async def post(
    http: httpx.AsyncClient,
    path: str,
    body: dict[str, str],
    address: dict[str, str] | None = None,
) -> httpx.Response:
    """From `address`, else from a client address of its own."""
    return await http.post(path, json=body, headers=address or new_address())


async def test_bursts_of_wrong_passwords_get_at_most_the_limit_checked(
    server: ServerProcess,
) -> None:
    email = unique_email("victim")
    await sign_up(server.url, email)
    wrong = {"email": email, "password": "not the password at all"}
    right = {"email": email, "password": PASSWORD}
    statuses: list[int] = []
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        # Each round lets at least one guess through until the limit is reached.
        for _ in range(LOGIN_FAILURES_PER_MINUTE):
            answers = await asyncio.gather(
                *(post(http, "/auth/login", wrong) for _ in range(BURST))
            )
            statuses += [a.status_code for a in answers]
        right_after = await post(http, "/auth/login", right)

    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= LOGIN_FAILURES_PER_MINUTE, statuses
    assert right_after.status_code == 429, right_after.text
    assert right_after.json()["error"]["code"] == "too_many_requests"


async def test_the_right_password_last_in_a_burst_is_one_of_the_limited_checks(
    server: ServerProcess,
) -> None:
    email = unique_email("victim")
    await sign_up(server.url, email)
    wrong = {"email": email, "password": "not the password at all"}
    right = {"email": email, "password": PASSWORD}
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        guesses = [asyncio.create_task(post(http, "/auth/login", wrong)) for _ in range(BURST)]
        await asyncio.sleep(0)  # every wrong guess is on its way before the right one
        last = asyncio.create_task(post(http, "/auth/login", right))
        statuses = [a.status_code for a in await asyncio.gather(*guesses)]
        right_in_burst = await last

    assert set(statuses) <= {401, 429}, statuses
    assert right_in_burst.status_code in {200, 429}, right_in_burst.text
    checked = statuses.count(401) + (right_in_burst.status_code == 200)
    assert checked <= LOGIN_FAILURES_PER_MINUTE, (statuses, right_in_burst.status_code)


async def test_a_burst_of_wrong_codes_gets_at_most_the_limit_checked(
    server: ServerProcess,
) -> None:
    email = unique_email("coded")
    await sign_up(server.url, email)
    attacker = new_address()
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        asked = await post(http, "/auth/otp/request", {"email": email, "purpose": "login"})
        assert asked.status_code == 202, asked.text
        code = await mailed_code(http, email, nth=1)

        async def guesses(address: dict[str, str] | None, first: int, count: int) -> list[int]:
            wrong = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(first, first + count)]
            bodies = [{"email": email, "purpose": "login", "code": c} for c in wrong]
            answers = await asyncio.gather(
                *(post(http, "/auth/otp/verify", b, address) for b in bodies)
            )
            return [a.status_code for a in answers]

        from_one = await guesses(attacker, 1, ONE_CLIENTS_SHARE)
        right_after = await post(
            http, "/auth/otp/verify", {"email": email, "purpose": "login", "code": code}, attacker
        )
        from_many = await guesses(None, ONE_CLIENTS_SHARE + 1, BURST)

    # At most the hourly limits of guesses are evaluated; the rest are refused unseen.
    assert set(from_one) <= {400, 429}, from_one
    assert from_one.count(400) <= OTP_WRONG_PER_CLIENT_HOUR, from_one
    assert right_after.status_code == 429, right_after.text
    assert set(from_many) <= {400, 429}, from_many
    assert from_one.count(400) + from_many.count(400) <= OTP_WRONG_PER_HOUR, from_many


async def mailed_code(http: httpx.AsyncClient, email: str, nth: int) -> str:
    """The code of the `nth` message (0 = the first) the dev mailbox holds for `email`."""
    for _ in range(250):
        messages = (await http.get("/dev/mailbox", params={"to": email})).json()["messages"]
        if len(messages) > nth:
            texts = sorted(messages, key=lambda m: str(m["sent_at"]))
            return str(re.findall(r"\b\d{6}\b", texts[nth]["text"])[0])
        await asyncio.sleep(0.02)
    raise AssertionError(f"no message {nth} for {email}")


# account pre-hijacking: an unverified account belongs to nobody --------------------------

ATTACKER_PASSWORD = "the attacker's own password"
VICTIM_PASSWORD = "the victim's chosen password"


async def login_status(http: httpx.AsyncClient, email: str, password: str) -> int:
    return (await post(http, "/auth/login", {"email": email, "password": password})).status_code


async def test_a_signup_before_the_victims_leaves_no_password_on_the_verified_account(
    server: ServerProcess,
) -> None:
    victim = unique_email("prehijacked")
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        mallory = {"email": victim, "password": ATTACKER_PASSWORD, "name": "Mallory"}
        assert (await post(http, "/auth/signup", mallory)).status_code == 202
        attackers_code = await mailed_code(http, victim, nth=0)
        ada = {"email": victim, "password": VICTIM_PASSWORD, "name": "Ada"}
        assert (await post(http, "/auth/signup", ada)).status_code == 202
        victims_code = await mailed_code(http, victim, nth=1)  # the newest in the inbox
        stale = await post(http, "/auth/verify-email", {"email": victim, "code": attackers_code})
        verified = await post(http, "/auth/verify-email", {"email": victim, "code": victims_code})
        attacker = await login_status(http, victim, ATTACKER_PASSWORD)
        owner = await login_status(http, victim, VICTIM_PASSWORD)

    assert stale.status_code == 400, stale.text  # that code's registration was replaced
    assert verified.status_code == 200, verified.text
    assert verified.json()["user"]["name"] == "Ada"
    assert attacker == 401
    assert owner == 200


async def test_a_login_code_that_verifies_the_account_leaves_no_strangers_password(
    server: ServerProcess,
) -> None:
    victim = unique_email("prehijacked")
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        mallory = {"email": victim, "password": ATTACKER_PASSWORD, "name": "Mallory"}
        assert (await post(http, "/auth/signup", mallory)).status_code == 202
        asked = await post(http, "/auth/otp/request", {"email": victim, "purpose": "login"})
        assert asked.status_code == 202, asked.text
        code = await mailed_code(http, victim, nth=1)
        body = {"email": victim, "purpose": "login", "code": code}
        signed_in = await post(http, "/auth/otp/verify", body)
        attacker = await login_status(http, victim, ATTACKER_PASSWORD)

    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["user"]["email_verified"] is True
    assert attacker == 401


async def test_code_mails_to_an_unverified_address_carry_no_signup_text(
    server: ServerProcess,
) -> None:
    victim = unique_email("phished")
    lure = "URGENT: your account was breached, verify at https://evil.example"
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        body = {"email": victim, "password": ATTACKER_PASSWORD, "name": lure}
        assert (await post(http, "/auth/signup", body)).status_code == 202
        await mailed_code(http, victim, nth=0)
        messages = (await http.get("/dev/mailbox", params={"to": victim})).json()["messages"]

    assert messages
    for message in messages:
        assert "evil.example" not in message["text"] + message["subject"]
        assert "URGENT" not in message["text"] + message["subject"]


# the email validator ----------------------------------------------------------------------

LOOKALIKES = [
    "ada\x00@example.com",  # NUL
    "ada\x07@example.com",  # a control character
    "ada\u202e@example.com",  # right-to-left override
    "ada\u2066@example.com",  # left-to-right isolate
    "ad\u200ba@example.com",  # zero-width space
    "ad\u200da@example.com",  # zero-width joiner
    "\ufeffada@example.com",  # byte-order mark
    "<ada>@example.com",
    "ada@exam<script>ple.com",
]


@pytest.mark.parametrize("address", LOOKALIKES)
async def test_addresses_with_invisible_or_markup_characters_are_refused(
    server: ServerProcess, address: str
) -> None:
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        signup = await post(
            http, "/auth/signup", {"email": address, "password": PASSWORD, "name": "Ada"}
        )
        code = await post(http, "/auth/otp/request", {"email": address, "purpose": "login"})

    for response in (signup, code):
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert error["details"][0]["field"] == "email"


# code displacement and stranger-made locks ------------------------------------------------


async def test_a_stranger_alone_cannot_lock_the_owners_codes(server: ServerProcess) -> None:
    victim = unique_email("locked")
    await sign_up(server.url, victim)
    stranger, owner = new_address(), new_address()
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        body = {"email": victim, "purpose": "login", "code": "000000"}
        stranger_answers = [
            (await post(http, "/auth/otp/verify", body, stranger)).status_code for _ in range(50)
        ]
        asked = await post(http, "/auth/otp/request", {"email": victim, "purpose": "login"}, owner)
        assert asked.status_code == 202, asked.text
        code = await mailed_code(http, victim, nth=1)
        body = {"email": victim, "purpose": "login", "code": code}
        signed_in = await post(http, "/auth/otp/verify", body, owner)

    assert stranger_answers == [400] * OTP_WRONG_PER_CLIENT_HOUR + [429] * 40
    assert signed_in.status_code == 200, signed_in.text


async def test_a_reset_code_request_does_not_displace_a_pending_login_code(
    server: ServerProcess,
) -> None:
    victim = unique_email("displaced")
    await sign_up(server.url, victim)
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        asked = await post(http, "/auth/otp/request", {"email": victim, "purpose": "login"})
        assert asked.status_code == 202, asked.text
        login_code = await mailed_code(http, victim, nth=1)
        reset = {"email": victim, "purpose": "password_reset"}
        assert (await post(http, "/auth/otp/request", reset)).status_code == 202
        await mailed_code(http, victim, nth=2)
        body = {"email": victim, "purpose": "login", "code": login_code}
        signed_in = await post(http, "/auth/otp/verify", body)

    assert signed_in.status_code == 200, signed_in.text


# enumeration: the same answers, counters and cooldowns for every address ----------------


async def test_wrong_codes_lock_an_unknown_address_as_they_lock_an_account(
    server: ServerProcess,
) -> None:
    known, unknown = unique_email("known"), unique_email("unknown")
    await sign_up(server.url, known)
    answers: dict[str, list[int]] = {}
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        for email in (known, unknown):
            body = {"email": email, "purpose": "login", "code": "000000"}
            guesser = new_address()
            answers[email] = [
                (await post(http, "/auth/otp/verify", body, guesser)).status_code
                for _ in range(OTP_WRONG_PER_CLIENT_HOUR + 1)
            ]

    expected = [400] * OTP_WRONG_PER_CLIENT_HOUR + [429]
    assert answers[known] == answers[unknown] == expected


async def test_a_code_request_right_after_signup_answers_alike_for_every_address(
    server: ServerProcess, redis_url: str
) -> None:
    verified, new = unique_email("verified"), unique_email("new")
    await sign_up(server.url, verified)
    # The account was verified long ago: its verification's cooldown is over.
    key = cooldown_key(Keyring(REFRESH_SECRET), verified, "verify_email")
    redis = Redis.from_url(redis_url)
    assert await redis.delete(key) == 1
    await redis.aclose()
    answers = {}
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        for email in (verified, new):
            body = {"email": email, "password": "a password of mine", "name": "Eve"}
            assert (await post(http, "/auth/signup", body)).status_code == 202
            asked = {"email": email, "purpose": "verify_email"}
            answers[email] = (await post(http, "/auth/otp/request", asked)).status_code

    assert answers[verified] == answers[new] == 429


# mail abuse: code mails capped per client address and for the whole service --------------

MAILS_PER_IP_PER_HOUR = 20


async def test_one_address_cannot_have_codes_mailed_to_inbox_after_inbox(
    server: ServerProcess,
) -> None:
    flooder = new_address()
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        statuses = [
            (
                await http.post(
                    "/auth/otp/request",
                    json={"email": unique_email("inbox"), "purpose": "login"},
                    headers=flooder,
                )
            ).status_code
            for _ in range(MAILS_PER_IP_PER_HOUR + 5)
        ]
        other = await post(
            http, "/auth/otp/request", {"email": unique_email("x"), "purpose": "login"}
        )

    assert statuses == [202] * MAILS_PER_IP_PER_HOUR + [429] * 5
    assert other.status_code == 202  # another client address is not held up


async def test_many_addresses_cannot_pass_the_services_hourly_mail_cap(
    redis_url: str,
) -> None:
    cap = 5
    env = {"LOG_LEVEL": "WARNING", "REDIS_URL": redis_url, "CODE_MAILS_PER_HOUR": str(cap)}
    redis = Redis.from_url(redis_url)
    await redis.delete("rate:mail")  # this server's hour starts now
    try:
        with running_server(env=env) as capped:
            async with httpx.AsyncClient(base_url=f"{capped.url}/api/v1", timeout=30) as http:
                statuses = [
                    (
                        await post(
                            http,
                            "/auth/otp/request",
                            {"email": unique_email("g"), "purpose": "login"},
                        )
                    ).status_code
                    for _ in range(cap + 3)
                ]
                signup = await post(
                    http,
                    "/auth/signup",
                    {"email": unique_email("s"), "password": PASSWORD, "name": "Sam"},
                )
    finally:
        await redis.delete("rate:mail")  # the other servers on this Redis keep their hour
        await redis.aclose()

    assert statuses == [202] * cap + [429] * 3
    assert signup.status_code == 429


# the second factor (TOTP): a stolen password meets guessing limits --------------------------


def totp_codes(secret: str, ahead: int = 0) -> tuple[str, set[str]]:
    """The code `ahead` steps from now (the server accepts one step either way; the
    enrolment spent the current step's), and every code the server accepts now."""
    import pyotp

    totp = pyotp.TOTP(secret)
    step = totp.timecode(datetime.now(UTC))
    return totp.generate_otp(step + ahead), {totp.generate_otp(step + d) for d in (-1, 0, 1)}


def wrong_codes(valid: set[str], count: int) -> list[str]:
    return [c for c in (f"{n:06d}" for n in range(count + len(valid))) if c not in valid][:count]


async def with_second_factor(server: ServerProcess, who: str) -> tuple[str, str]:
    """A verified user with TOTP enabled: (email, secret)."""
    email = unique_email(who)
    account = await sign_up(server.url, email)
    bearer = {"Authorization": f"Bearer {account.token}"}
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        started = await http.post("/auth/mfa/totp", headers=bearer | new_address())
        assert started.status_code == 200, started.text
        secret = started.json()["secret"]
        code, _ = totp_codes(secret)
        confirmed = await http.post(
            "/auth/mfa/totp/confirm", json={"code": code}, headers=bearer | new_address()
        )
        assert confirmed.status_code == 200, confirmed.text
    return email, secret


async def challenge_of(http: httpx.AsyncClient, email: str) -> str:
    answer = await post(http, "/auth/login", {"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "mfa" and body["mfa_required"] is True, body
    assert "access_token" not in body
    return str(body["challenge"])


async def test_a_burst_of_codes_on_one_challenge_gets_at_most_the_limit_answered(
    server: ServerProcess,
) -> None:
    email, secret = await with_second_factor(server, "mfa-one")
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        challenge = await challenge_of(http, email)
        right, valid = totp_codes(secret, ahead=1)
        guesses = [
            asyncio.create_task(post(http, "/auth/mfa", {"challenge": challenge, "code": c}))
            for c in wrong_codes(valid, BURST)
        ]
        await asyncio.sleep(0)  # every wrong guess is on its way before the right one
        last = asyncio.create_task(post(http, "/auth/mfa", {"challenge": challenge, "code": right}))
        statuses = [a.status_code for a in await asyncio.gather(*guesses)]
        right_in_burst = await last
        # the account's hour is used up: a fresh challenge and the right code are refused
        after = await post(
            http, "/auth/mfa", {"challenge": await challenge_of(http, email), "code": right}
        )

    assert set(statuses) <= {400, 429}, statuses
    answered = statuses.count(400) + (right_in_burst.status_code == 200)
    assert answered <= OTP_WRONG_PER_HOUR, (statuses, right_in_burst.status_code)
    if right_in_burst.status_code != 200:
        assert right_in_burst.status_code == 429, right_in_burst.text
        assert after.status_code == 429, after.text


async def test_bursts_across_fresh_challenges_share_the_accounts_limit(
    server: ServerProcess,
) -> None:
    email, secret = await with_second_factor(server, "mfa-many")
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        challenges = [await challenge_of(http, email) for _ in range(5)]
        right, valid = totp_codes(secret, ahead=1)
        codes = iter(wrong_codes(valid, BURST))
        answers = await asyncio.gather(
            *(
                post(http, "/auth/mfa", {"challenge": challenge, "code": next(codes)})
                for challenge in challenges
                for _ in range(BURST // len(challenges))
            )
        )
        statuses = [a.status_code for a in answers]
        after = await post(
            http, "/auth/mfa", {"challenge": await challenge_of(http, email), "code": right}
        )

    assert set(statuses) <= {400, 429}, statuses
    assert statuses.count(400) <= OTP_WRONG_PER_HOUR, statuses
    assert statuses.count(429) >= BURST - OTP_WRONG_PER_HOUR, statuses
    assert after.status_code == 429, after.text  # locked: not honoured, right or wrong


async def test_one_address_is_locked_out_before_the_account(server: ServerProcess) -> None:
    email, secret = await with_second_factor(server, "mfa-address")
    attacker = new_address()
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        challenge = await challenge_of(http, email)
        right, valid = totp_codes(secret, ahead=1)
        wrong = wrong_codes(valid, BURST)
        statuses: list[int] = []
        for first in range(0, BURST, 10):  # within one client's share of the in-flight places
            answers = await asyncio.gather(
                *(
                    post(http, "/auth/mfa", {"challenge": challenge, "code": c}, attacker)
                    for c in wrong[first : first + 10]
                )
            )
            statuses += [a.status_code for a in answers]
        blocked = await post(http, "/auth/mfa", {"challenge": challenge, "code": right}, attacker)
        owner = await post(http, "/auth/mfa", {"challenge": challenge, "code": right})

    assert statuses.count(400) == OTP_WRONG_PER_CLIENT_HOUR, statuses
    assert statuses.count(429) == BURST - OTP_WRONG_PER_CLIENT_HOUR, statuses
    assert blocked.status_code == 429, blocked.text
    assert owner.status_code == 200, owner.text  # the owner's own address still signs in
    assert owner.json()["token_type"] == "bearer"
