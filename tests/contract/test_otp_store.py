"""The OtpStore contract, held by the memory adapter and by Redis alike."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from adapters.lifecycle import ManagedClient
from adapters.memory.clock import MemoryClock
from adapters.memory.otp import MemoryOtpStore
from adapters.redis.otp import RedisOtpStore
from domain.auth.model import CodeCheck, CodeVerdict, OtpPurpose, PendingCode
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


# pending codes ----------------------------------------------------------------------------


async def test_a_stored_code_reads_back_with_no_attempts(otp_store: OtpStore) -> None:
    await otp_store.put("u1", LOGIN, "hash-1", 300)

    assert await otp_store.get("u1") == PendingCode(LOGIN, "hash-1", 0)


async def test_a_user_without_a_code_has_none(otp_store: OtpStore) -> None:
    assert await otp_store.get("nobody") is None


async def test_a_new_code_replaces_the_pending_one_and_its_attempts(otp_store: OtpStore) -> None:
    await otp_store.put("u1", LOGIN, "old", 300)
    await otp_store.fail("u1", 5)

    await otp_store.put("u1", RESET, "new", 300)

    assert await otp_store.get("u1") == PendingCode(RESET, "new", 0)
    assert not await otp_store.consume("u1", "old")


async def test_codes_of_different_users_are_separate(otp_store: OtpStore) -> None:
    await otp_store.put("u1", LOGIN, "a", 300)
    await otp_store.put("u2", LOGIN, "b", 300)

    assert await otp_store.consume("u1", "a")

    assert await otp_store.get("u2") == PendingCode(LOGIN, "b", 0)


async def test_wrong_tries_are_counted_and_the_code_burns_at_the_maximum(
    otp_store: OtpStore,
) -> None:
    await otp_store.put("u1", LOGIN, "h", 300)

    counts = [await otp_store.fail("u1", 3) for _ in range(2)]
    assert counts == [1, 2]
    assert await otp_store.get("u1") == PendingCode(LOGIN, "h", 2)

    assert await otp_store.fail("u1", 3) == 3
    assert await otp_store.get("u1") is None
    assert not await otp_store.consume("u1", "h")


async def test_a_wrong_try_without_a_code_counts_nothing_and_creates_nothing(
    otp_store: OtpStore,
) -> None:
    assert await otp_store.fail("u1", 5) == 0
    assert await otp_store.fail("u1", 5) == 0

    assert await otp_store.get("u1") is None


async def test_concurrent_wrong_tries_are_each_counted(otp_store: OtpStore) -> None:
    await otp_store.put("u1", LOGIN, "h", 300)

    counts = await asyncio.gather(*(otp_store.fail("u1", 100) for _ in range(10)))

    assert sorted(counts) == list(range(1, 11))
    assert await otp_store.get("u1") == PendingCode(LOGIN, "h", 10)


async def test_the_right_code_is_consumed_exactly_once(otp_store: OtpStore) -> None:
    await otp_store.put("u1", LOGIN, "h", 300)

    assert await otp_store.consume("u1", "h")

    assert not await otp_store.consume("u1", "h")
    assert await otp_store.get("u1") is None


async def test_a_wrong_code_is_not_consumed_and_leaves_the_pending_one(
    otp_store: OtpStore,
) -> None:
    await otp_store.put("u1", LOGIN, "h", 300)

    assert not await otp_store.consume("u1", "other")

    assert await otp_store.get("u1") == PendingCode(LOGIN, "h", 0)
    assert not await otp_store.consume("u2", "h")


async def test_ten_concurrent_consumes_of_one_code_succeed_once(otp_store: OtpStore) -> None:
    await otp_store.put("u1", LOGIN, "h", 300)

    results = await asyncio.gather(*(otp_store.consume("u1", "h") for _ in range(10)))

    assert results.count(True) == 1


async def test_a_code_and_a_grant_expire_with_their_ttl(
    otp_store: OtpStore, backend: Backend
) -> None:
    await otp_store.put("u1", LOGIN, "h", 1)
    await otp_store.grant_reset("u1", "g", 1)
    await backend.pass_time(0.5)
    assert await otp_store.get("u1") is not None

    await backend.pass_time(0.6)

    assert await otp_store.get("u1") is None
    assert not await otp_store.consume("u1", "h")
    assert await otp_store.fail("u1", 5) == 0
    assert not await otp_store.take_reset("u1", "g")


# guesses: evaluated and counted in one step -------------------------------------------------

ACCEPTED, WRONG, LOCKED = CodeVerdict.ACCEPTED, CodeVerdict.WRONG, CodeVerdict.LOCKED


async def test_the_right_guess_spends_the_code_once(otp_store: OtpStore) -> None:
    await otp_store.put("u1", LOGIN, "h", 300)

    assert await otp_store.attempt("u1", "h", 5, 10) == CodeCheck(ACCEPTED)
    assert (await otp_store.attempt("u1", "h", 5, 10)).verdict is WRONG
    assert await otp_store.get("u1") is None


async def test_wrong_guesses_count_against_the_code_which_burns_at_the_maximum(
    otp_store: OtpStore,
) -> None:
    await otp_store.put("u1", LOGIN, "h", 300)
    for _ in range(2):
        assert (await otp_store.attempt("u1", "x", 3, 10)).verdict is WRONG
    pending = await otp_store.get("u1")
    assert pending is not None
    assert pending.attempts == 2

    assert (await otp_store.attempt("u1", "x", 3, 10)).verdict is WRONG

    assert await otp_store.get("u1") is None
    assert (await otp_store.attempt("u1", "h", 3, 10)).verdict is WRONG


async def test_the_hourly_limit_locks_guesses_whatever_new_codes_arrive(
    otp_store: OtpStore,
) -> None:
    for _ in range(3):
        await otp_store.put("u1", LOGIN, "h", 300)
        assert (await otp_store.attempt("u1", "x", 5, 3)).verdict is WRONG
    await otp_store.put("u1", LOGIN, "h", 300)

    locked = await otp_store.attempt("u1", "h", 5, 3)

    assert locked.verdict is LOCKED
    assert 3500 < locked.retry_in_s <= 3600
    assert await otp_store.get("u1") is not None  # a locked guess is not evaluated
    assert (await otp_store.attempt("u2", "x", 5, 3)).verdict is WRONG  # per user


async def test_of_fifty_concurrent_wrong_guesses_the_limits_hold(otp_store: OtpStore) -> None:
    await otp_store.put("u1", LOGIN, "h", 300)

    checks = await asyncio.gather(*(otp_store.attempt("u1", f"x{n}", 5, 10) for n in range(50)))

    verdicts = [c.verdict for c in checks]
    assert verdicts.count(WRONG) == 10
    assert verdicts.count(LOCKED) == 40
    assert await otp_store.get("u1") is None  # burned by the first 5


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

    assert await otp_store.consume("u1", "h")

    assert await otp_store.take_reset("u1", "h")


# Redis: the deployment's keys, every one with a TTL ---------------------------------------


async def test_redis_uses_the_deployments_keys(redis_service: RedisService) -> None:
    store, raw = RedisOtpStore(redis_service.managed), redis_service.raw

    await store.put("u-42", LOGIN, "h", 300)
    await store.grant_reset("u-42", "g", 120)

    assert sorted(await redis_service.keys()) == [b"otp:u-42", b"session:u-42:otp"]
    assert await raw.type("otp:u-42") == b"hash"
    assert await raw.hgetall("otp:u-42") == {
        b"purpose": b"login",
        b"code_hash": b"h",
        b"attempts": b"0",
    }
    assert 295 <= await raw.ttl("otp:u-42") <= 300
    assert await raw.get("session:u-42:otp") == b"g"
    assert 115 <= await raw.ttl("session:u-42:otp") <= 120


async def test_redis_wrong_tries_keep_the_codes_expiry(redis_service: RedisService) -> None:
    store, raw = RedisOtpStore(redis_service.managed), redis_service.raw
    await store.put("u1", LOGIN, "h", 300)
    await raw.expire("otp:u1", 100)  # as if 200 s had passed

    await store.fail("u1", 5)

    assert 95 <= await raw.ttl("otp:u1") <= 100


async def test_redis_every_key_written_has_a_ttl(redis_service: RedisService) -> None:
    store = RedisOtpStore(redis_service.managed)
    await store.put("u1", LOGIN, "h", 300)
    await store.fail("u1", 5)
    await store.fail("absent", 5)
    await store.consume("absent", "h")
    await store.put("u2", RESET, "h", 300)
    await store.consume("u2", "wrong")
    await store.grant_reset("u1", "g", 300)
    await store.take_reset("u1", "wrong")
    await store.take_reset("absent", "g")

    keys = await redis_service.keys()

    assert sorted(keys) == [b"otp:u1", b"otp:u2", b"session:u1:otp"]
    assert all(ttl > 0 for ttl in [await redis_service.raw.ttl(key) for key in keys])


async def test_redis_counts_wrong_guesses_an_hour_under_the_deployments_key(
    redis_service: RedisService,
) -> None:
    store, raw = RedisOtpStore(redis_service.managed), redis_service.raw
    await store.put("u1", LOGIN, "h", 300)
    await store.attempt("u1", "x", 5, 10)
    await store.attempt("absent", "x", 5, 10)

    assert sorted(await redis_service.keys()) == [
        b"otp:u1",
        b"rate:absent:otp_failures",
        b"rate:u1:otp_failures",
    ]
    assert await raw.get("rate:u1:otp_failures") == b"1"
    assert 3595 <= await raw.ttl("rate:u1:otp_failures") <= 3600
    assert 295 <= await raw.ttl("otp:u1") <= 300  # a wrong guess keeps the code's expiry


async def test_redis_down_is_service_unavailable(dead_redis: ManagedClient[Redis]) -> None:
    store = RedisOtpStore(dead_redis)
    calls = [
        store.put("u1", LOGIN, "h", 300),
        store.get("u1"),
        store.fail("u1", 5),
        store.consume("u1", "h"),
        store.attempt("u1", "h", 5, 10),
        store.grant_reset("u1", "g", 300),
        store.take_reset("u1", "g"),
    ]

    results = await asyncio.gather(*calls, return_exceptions=True)

    assert all(isinstance(result, ServiceUnavailable) for result in results), results
