"""The OtpStore contract, held by the memory adapter and by Redis alike."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from adapters.lifecycle import ManagedClient
from adapters.memory.clock import MemoryClock
from adapters.memory.otp import MemoryOtpStore
from adapters.redis.otp import RedisOtpStore
from domain.auth.model import CodeCheck, CodeLimits, CodeVerdict, OtpPurpose, PendingCode
from domain.errors import ServiceUnavailable
from ports.otp import OtpStore
from tests.contract.conftest import Backend, RedisService, make_backend

if TYPE_CHECKING:
    from redis.asyncio import Redis

pytestmark = pytest.mark.contract

LOGIN = OtpPurpose.LOGIN
RESET = OtpPurpose.PASSWORD_RESET


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest, clock: MemoryClock) -> Backend:
    return make_backend(request, clock)


@pytest.fixture
def otp_store(backend: Backend) -> OtpStore:
    if backend.redis is not None:
        return RedisOtpStore(backend.redis.managed)
    return MemoryOtpStore(backend.clock)


# pending codes: one per user and purpose --------------------------------------------------

ACCEPTED, WRONG, LOCKED = CodeVerdict.ACCEPTED, CodeVerdict.WRONG, CodeVerdict.LOCKED
LIMITS = CodeLimits(tries_per_code=5, wrong_per_hour=30, wrong_per_client_hour=10)
IP = "10.0.0.1"


async def guess(
    store: OtpStore,
    code_hash: str,
    *,
    user_id: str = "u1",
    purpose: OtpPurpose = LOGIN,
    client: str = IP,
    limits: CodeLimits = LIMITS,
) -> CodeVerdict:
    check = await store.attempt(user_id, purpose, code_hash, client=client, limits=limits)
    return check.verdict


async def test_a_stored_code_reads_back_with_no_attempts(otp_store: OtpStore) -> None:
    await otp_store.put("u1", LOGIN, "hash-1", 300)

    assert await otp_store.get("u1", LOGIN) == PendingCode(LOGIN, "hash-1", 0)


async def test_a_user_without_a_code_has_none(otp_store: OtpStore) -> None:
    assert await otp_store.get("nobody", LOGIN) is None


async def test_a_new_code_replaces_the_pending_one_of_its_purpose_and_its_attempts(
    otp_store: OtpStore,
) -> None:
    await otp_store.put("u1", LOGIN, "old", 300)
    assert await guess(otp_store, "wrong") is WRONG

    await otp_store.put("u1", LOGIN, "new", 300)

    assert await otp_store.get("u1", LOGIN) == PendingCode(LOGIN, "new", 0)
    assert await guess(otp_store, "old") is WRONG


async def test_a_code_of_another_purpose_leaves_the_pending_one(otp_store: OtpStore) -> None:
    await otp_store.put("u1", LOGIN, "login-code", 300)

    await otp_store.put("u1", RESET, "reset-code", 300)

    assert await otp_store.get("u1", LOGIN) == PendingCode(LOGIN, "login-code", 0)
    assert await guess(otp_store, "reset-code") is WRONG  # not a login code
    assert await guess(otp_store, "login-code") is ACCEPTED
    assert await guess(otp_store, "reset-code", purpose=RESET) is ACCEPTED


async def test_codes_of_different_users_are_separate(otp_store: OtpStore) -> None:
    await otp_store.put("u1", LOGIN, "a", 300)
    await otp_store.put("u2", LOGIN, "b", 300)

    assert await guess(otp_store, "a") is ACCEPTED

    assert await otp_store.get("u2", LOGIN) == PendingCode(LOGIN, "b", 0)


async def test_the_right_guess_spends_the_code_once(otp_store: OtpStore) -> None:
    await otp_store.put("u1", LOGIN, "h", 300)

    assert await otp_store.attempt("u1", LOGIN, "h", client=IP, limits=LIMITS) == CodeCheck(
        ACCEPTED
    )
    assert await guess(otp_store, "h") is WRONG
    assert await otp_store.get("u1", LOGIN) is None


async def test_ten_concurrent_right_guesses_succeed_once(otp_store: OtpStore) -> None:
    await otp_store.put("u1", LOGIN, "h", 300)

    verdicts = await asyncio.gather(*(guess(otp_store, "h", client=f"c{n}") for n in range(10)))

    assert verdicts.count(ACCEPTED) == 1


async def test_wrong_guesses_count_against_the_code_which_burns_at_the_maximum(
    otp_store: OtpStore,
) -> None:
    await otp_store.put("u1", LOGIN, "h", 300)
    three = CodeLimits(tries_per_code=3, wrong_per_hour=30, wrong_per_client_hour=10)
    for _ in range(2):
        assert await guess(otp_store, "x", limits=three) is WRONG
    assert await otp_store.get("u1", LOGIN) == PendingCode(LOGIN, "h", 2)

    assert await guess(otp_store, "x", limits=three) is WRONG

    assert await otp_store.get("u1", LOGIN) is None
    assert await guess(otp_store, "h", limits=three) is WRONG


async def test_a_wrong_guess_without_a_code_creates_no_code(otp_store: OtpStore) -> None:
    assert await guess(otp_store, "x") is WRONG

    assert await otp_store.get("u1", LOGIN) is None


async def test_one_clients_wrong_guesses_lock_that_client_only(otp_store: OtpStore) -> None:
    for _ in range(10):
        await otp_store.put("u1", LOGIN, "h", 300)
        assert await guess(otp_store, "x", client="stranger") is WRONG
    await otp_store.put("u1", LOGIN, "h", 300)

    locked = await otp_store.attempt("u1", LOGIN, "h", client="stranger", limits=LIMITS)

    assert locked.verdict is LOCKED
    assert 3500 < locked.retry_in_s <= 3600
    assert await otp_store.get("u1", LOGIN) is not None  # a locked guess is not evaluated
    assert await guess(otp_store, "h", client="owner") is ACCEPTED
    assert await guess(otp_store, "x", user_id="u2", client="stranger") is WRONG  # per user


async def test_the_hour_of_every_client_together_locks_the_account(otp_store: OtpStore) -> None:
    for n in range(30):
        assert await guess(otp_store, "x", client=f"c{n // 10}") is WRONG
    await otp_store.put("u1", LOGIN, "h", 300)

    assert await guess(otp_store, "h", client="owner") is LOCKED
    assert await otp_store.get("u1", LOGIN) is not None


async def test_of_fifty_concurrent_wrong_guesses_the_limits_hold(otp_store: OtpStore) -> None:
    await otp_store.put("u1", LOGIN, "h", 300)

    one_client = await asyncio.gather(*(guess(otp_store, f"x{n}") for n in range(50)))
    many_clients = await asyncio.gather(
        *(guess(otp_store, f"y{n}", client=f"c{n}") for n in range(50))
    )

    assert one_client.count(WRONG) == 10
    assert one_client.count(LOCKED) == 40
    assert many_clients.count(WRONG) == 20  # the account's 30 in all
    assert await otp_store.get("u1", LOGIN) is None  # burned by the first 5


async def test_a_code_and_a_grant_expire_with_their_ttl(
    otp_store: OtpStore, backend: Backend
) -> None:
    await otp_store.put("u1", LOGIN, "h", 1)
    await otp_store.grant_reset("u1", "g", 1)
    await backend.pass_time(0.5)
    assert await otp_store.get("u1", LOGIN) is not None

    await backend.pass_time(0.6)

    assert await otp_store.get("u1", LOGIN) is None
    assert await guess(otp_store, "h") is WRONG
    assert not await otp_store.take_reset("u1", "g")


# password-reset grants --------------------------------------------------------------------


async def test_a_reset_grant_is_taken_exactly_once(otp_store: OtpStore) -> None:
    await otp_store.grant_reset("u1", "g1", 300)

    assert await otp_store.take_reset("u1", "g1")

    assert not await otp_store.take_reset("u1", "g1")


async def test_a_wrong_grant_is_refused_and_leaves_the_right_one(otp_store: OtpStore) -> None:
    await otp_store.grant_reset("u1", "g1", 300)

    assert not await otp_store.take_reset("u1", "g2")
    assert not await otp_store.take_reset("u2", "g1")

    assert await otp_store.take_reset("u1", "g1")


async def test_a_new_grant_replaces_the_previous_one(otp_store: OtpStore) -> None:
    await otp_store.grant_reset("u1", "g1", 300)
    await otp_store.grant_reset("u1", "g2", 300)

    assert not await otp_store.take_reset("u1", "g1")
    assert await otp_store.take_reset("u1", "g2")


async def test_ten_concurrent_takes_of_one_grant_succeed_once(otp_store: OtpStore) -> None:
    await otp_store.grant_reset("u1", "g", 300)

    results = await asyncio.gather(*(otp_store.take_reset("u1", "g") for _ in range(10)))

    assert results.count(True) == 1


async def test_grants_and_codes_do_not_interfere(otp_store: OtpStore) -> None:
    await otp_store.put("u1", RESET, "h", 300)
    await otp_store.grant_reset("u1", "h", 300)

    assert await guess(otp_store, "h", purpose=RESET) is ACCEPTED

    assert await otp_store.take_reset("u1", "h")


# Redis: the deployment's keys, every one with a TTL ---------------------------------------


async def test_redis_uses_the_deployments_keys(redis_service: RedisService) -> None:
    store, raw = RedisOtpStore(redis_service.managed), redis_service.raw

    await store.put("u-42", LOGIN, "h", 300)
    await store.grant_reset("u-42", "g", 120)

    assert sorted(await redis_service.keys()) == [b"otp:u-42:login", b"session:u-42:otp"]
    assert await raw.type("otp:u-42:login") == b"hash"
    assert await raw.hgetall("otp:u-42:login") == {
        b"purpose": b"login",
        b"code_hash": b"h",
        b"attempts": b"0",
    }
    assert 295 <= await raw.ttl("otp:u-42:login") <= 300
    assert await raw.get("session:u-42:otp") == b"g"
    assert 115 <= await raw.ttl("session:u-42:otp") <= 120


async def test_redis_counts_wrong_guesses_an_hour_under_the_deployments_keys(
    redis_service: RedisService,
) -> None:
    store, raw = RedisOtpStore(redis_service.managed), redis_service.raw
    await store.put("u1", LOGIN, "h", 300)
    await raw.expire("otp:u1:login", 100)  # as if 200 s had passed
    await guess(store, "x")
    await guess(store, "x", user_id="absent")

    assert sorted(await redis_service.keys()) == [
        b"otp:u1:login",
        b"rate:absent:otp_failures",
        b"rate:absent:otp_failures:10.0.0.1",
        b"rate:u1:otp_failures",
        b"rate:u1:otp_failures:10.0.0.1",
    ]
    assert await raw.get("rate:u1:otp_failures:10.0.0.1") == b"1"
    assert 3595 <= await raw.ttl("rate:u1:otp_failures") <= 3600
    assert 3595 <= await raw.ttl("rate:u1:otp_failures:10.0.0.1") <= 3600
    assert 95 <= await raw.ttl("otp:u1:login") <= 100  # a wrong guess keeps the code's expiry


async def test_redis_every_key_written_has_a_ttl(redis_service: RedisService) -> None:
    store = RedisOtpStore(redis_service.managed)
    await store.put("u1", LOGIN, "h", 300)
    await guess(store, "x")
    await store.put("u2", RESET, "h", 300)
    await guess(store, "h", user_id="u2", purpose=RESET)
    await store.grant_reset("u1", "g", 300)
    await store.take_reset("u1", "wrong")
    await store.take_reset("absent", "g")

    keys = await redis_service.keys()

    assert len(keys) == 4
    assert all(ttl > 0 for ttl in [await redis_service.raw.ttl(key) for key in keys])


async def test_redis_down_is_service_unavailable(dead_redis: ManagedClient[Redis]) -> None:
    store = RedisOtpStore(dead_redis)
    calls = [
        store.put("u1", LOGIN, "h", 300),
        store.get("u1", LOGIN),
        store.attempt("u1", LOGIN, "h", client=IP, limits=LIMITS),
        store.grant_reset("u1", "g", 300),
        store.take_reset("u1", "g"),
    ]

    results = await asyncio.gather(*calls, return_exceptions=True)

    assert all(isinstance(result, ServiceUnavailable) for result in results), results


async def test_forget_drops_the_users_codes_grant_and_wrong_guesses(otp_store: OtpStore) -> None:
    limits = CodeLimits(tries_per_code=5, wrong_per_hour=2, wrong_per_client_hour=2)
    for purpose in OtpPurpose:
        await otp_store.put("u1", purpose, f"hash-{purpose}", 300)
    await otp_store.grant_reset("u1", "grant-1", 300)
    for client in (IP, "10.0.0.2", IP):  # counted per address and for every address
        await guess(otp_store, "wrong", client=client, limits=limits)
    await otp_store.put("u2", LOGIN, "other", 300)
    await otp_store.grant_reset("u2", "grant-2", 300)
    assert await guess(otp_store, "hash-login", limits=limits) is LOCKED

    await otp_store.forget("u1")
    await otp_store.forget("u1")  # idempotent

    for purpose in OtpPurpose:
        assert await otp_store.get("u1", purpose) is None
    assert not await otp_store.take_reset("u1", "grant-1")
    await otp_store.put("u1", LOGIN, "fresh", 300)
    assert await guess(otp_store, "fresh", limits=limits) is ACCEPTED  # no hour's count left
    assert await otp_store.get("u2", LOGIN) == PendingCode(LOGIN, "other", 0)
    assert await otp_store.take_reset("u2", "grant-2")


async def test_redis_forget_leaves_no_key_naming_the_user(redis_service: RedisService) -> None:
    store = RedisOtpStore(redis_service.managed)
    for purpose in OtpPurpose:
        await store.put("u1", purpose, "h", 300)
    await store.grant_reset("u1", "g", 300)
    for n in range(3):
        await guess(store, "wrong", client=f"10.0.0.{n}")
    await store.put("u10", LOGIN, "h", 300)  # a user whose id starts with the other's
    await guess(store, "wrong", user_id="u10", client="10.0.0.9")
    before = [k.decode() for k in await redis_service.keys()]
    # a code per purpose, the grant, the hour's count and the three per-client counts
    assert len([k for k in before if k.split(":")[1] == "u1"]) == len(OtpPurpose) + 5

    await store.forget("u1")

    left = sorted(k.decode() for k in await redis_service.keys())
    assert left == [
        "otp:u10:login",
        "rate:u10:otp_failures",
        "rate:u10:otp_failures:10.0.0.9",
    ]


# second-factor guesses: evaluated by the caller, honoured or refused here ----------------


async def judged(
    store: OtpStore, *, correct: bool, user_id: str = "u1", client: str = IP
) -> CodeVerdict:
    check = await store.judge(user_id, correct=correct, client=client, limits=LIMITS)
    return check.verdict


async def test_a_right_second_factor_guess_is_accepted_and_not_counted(
    otp_store: OtpStore,
) -> None:
    for _ in range(LIMITS.wrong_per_client_hour + 5):
        assert await judged(otp_store, correct=True) is ACCEPTED
    assert await judged(otp_store, correct=False) is WRONG


async def test_second_factor_guesses_lock_like_codes_apart_from_them(otp_store: OtpStore) -> None:
    for _ in range(LIMITS.wrong_per_client_hour):
        assert await judged(otp_store, correct=False) is WRONG
    locked = await otp_store.judge("u1", correct=True, client=IP, limits=LIMITS)
    assert locked.verdict is LOCKED  # the right code is not honoured either
    assert 0 < locked.retry_in_s <= 3600
    assert await judged(otp_store, correct=True, client="10.0.0.2") is ACCEPTED
    await otp_store.put("u1", LOGIN, "h", 300)  # email codes keep their own counts
    assert await guess(otp_store, "h") is ACCEPTED
    for n in range(LIMITS.wrong_per_hour - LIMITS.wrong_per_client_hour):
        assert await judged(otp_store, correct=False, client=f"10.1.{n}.1") is WRONG
    assert await judged(otp_store, correct=True, client="10.9.9.9") is LOCKED


async def test_of_fifty_concurrent_second_factor_guesses_the_limits_hold(
    otp_store: OtpStore,
) -> None:
    verdicts = await asyncio.gather(*(judged(otp_store, correct=False) for _ in range(50)))
    assert verdicts.count(WRONG) == LIMITS.wrong_per_client_hour
    assert verdicts.count(LOCKED) == 50 - LIMITS.wrong_per_client_hour


async def test_forget_drops_second_factor_counts(otp_store: OtpStore) -> None:
    for _ in range(LIMITS.wrong_per_client_hour):
        await judged(otp_store, correct=False)
    await otp_store.forget("u1")
    assert await judged(otp_store, correct=True) is ACCEPTED


async def test_redis_second_factor_counts_under_their_keys(redis_service: RedisService) -> None:
    store = RedisOtpStore(redis_service.managed)
    await judged(store, correct=False)
    await judged(store, correct=False, user_id="u10", client="10.0.0.9")
    keys = {k.decode() for k in await redis_service.keys()}
    assert keys == {
        "rate:u1:mfa_failures",
        f"rate:u1:mfa_failures:{IP}",
        "rate:u10:mfa_failures",
        "rate:u10:mfa_failures:10.0.0.9",
    }
    for key in keys:
        assert 0 < await redis_service.raw.ttl(key) <= 3600
    await store.forget("u1")
    left = {k.decode() for k in await redis_service.keys()}
    assert left == {"rate:u10:mfa_failures", "rate:u10:mfa_failures:10.0.0.9"}
