"""The RateLimiter contract, held by the memory adapter and by Redis alike."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from adapters.lifecycle import ManagedClient
from adapters.memory.clock import MemoryClock
from adapters.memory.rate_limit import MemoryRateLimiter
from adapters.redis.rate_limit import RedisRateLimiter
from domain.auth.model import RateWindow, Reservation
from domain.errors import ServiceUnavailable
from ports.rate_limit import RateLimiter
from tests.contract.conftest import Backend, RedisService, make_backend

if TYPE_CHECKING:
    from redis.asyncio import Redis

pytestmark = pytest.mark.contract

KEY = "rate:u1:login"


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest, clock: MemoryClock) -> Backend:
    return make_backend(request, clock)


@pytest.fixture
def limiter(backend: Backend) -> RateLimiter:
    if backend.redis is not None:
        return RedisRateLimiter(backend.redis.managed)
    return MemoryRateLimiter(backend.clock)


async def test_hits_are_counted_within_the_window(limiter: RateLimiter) -> None:
    windows = [await limiter.hit(KEY, 3, 60) for _ in range(4)]

    assert [(w.count, w.limit) for w in windows] == [(1, 3), (2, 3), (3, 3), (4, 3)]
    assert [w.exceeded for w in windows] == [False, False, False, True]
    assert [w.remaining for w in windows] == [2, 1, 0, 0]
    assert all(0 < w.reset_in_s <= 60 for w in windows)


async def test_the_first_hit_opens_a_window_of_the_given_length(limiter: RateLimiter) -> None:
    window = await limiter.hit(KEY, 5, 60)

    assert window == RateWindow(1, 5, 60)


async def test_keys_are_counted_separately(limiter: RateLimiter) -> None:
    await limiter.hit("rate:u1:login", 5, 60)
    await limiter.hit("rate:u1:login", 5, 60)

    assert (await limiter.hit("rate:u2:login", 5, 60)).count == 1
    assert (await limiter.hit("rate:u1:api", 5, 60)).count == 1


async def test_concurrent_hits_are_each_counted_once(limiter: RateLimiter) -> None:
    windows = await asyncio.gather(*(limiter.hit(KEY, 100, 60) for _ in range(20)))

    assert sorted(w.count for w in windows) == list(range(1, 21))
    assert (await limiter.peek(KEY, 100)).count == 20


async def test_peek_reads_the_window_without_counting(limiter: RateLimiter) -> None:
    await limiter.hit(KEY, 5, 60)

    first = await limiter.peek(KEY, 5)
    second = await limiter.peek(KEY, 5)

    assert (first.count, first.limit) == (second.count, second.limit) == (1, 5)
    assert 0 < first.reset_in_s <= 60


async def test_peek_of_an_unused_key_is_an_empty_window(limiter: RateLimiter) -> None:
    window = await limiter.peek(KEY, 5)

    assert window == RateWindow(0, 5, 0)
    assert not window.exceeded
    assert (await limiter.peek(KEY, 5)).count == 0  # peeking created nothing


async def test_reset_starts_the_count_over(limiter: RateLimiter) -> None:
    for _ in range(3):
        await limiter.hit(KEY, 5, 60)

    await limiter.reset(KEY)

    assert (await limiter.peek(KEY, 5)).count == 0
    assert (await limiter.hit(KEY, 5, 60)).count == 1
    await limiter.reset("rate:never-used")


async def test_a_free_slot_is_claimed_then_reports_the_wait(limiter: RateLimiter) -> None:
    assert await limiter.claim("rate:email-x:otp:login", 60) == 0

    wait = await limiter.claim("rate:email-x:otp:login", 60)

    assert 0 < wait <= 60
    assert await limiter.claim("rate:email-x:otp:password_reset", 60) == 0


async def test_ten_concurrent_claims_take_the_slot_once(limiter: RateLimiter) -> None:
    waits = await asyncio.gather(*(limiter.claim("rate:email-x:otp:login", 60) for _ in range(10)))

    assert waits.count(0) == 1
    assert all(0 < wait <= 60 for wait in waits if wait)


async def test_windows_and_cooldowns_end_with_their_ttl(
    limiter: RateLimiter, backend: Backend
) -> None:
    await limiter.hit(KEY, 1, 1)
    await limiter.hit(KEY, 1, 1)
    assert await limiter.claim("rate:slot", 1) == 0
    await backend.pass_time(0.5)
    assert (await limiter.hit(KEY, 1, 1)).count == 3  # the window is not renewed by hits
    assert await limiter.claim("rate:slot", 1) == 1

    await backend.pass_time(0.6)

    assert (await limiter.peek(KEY, 1)).count == 0
    assert (await limiter.hit(KEY, 1, 1)) == RateWindow(1, 1, 1)
    assert await limiter.claim("rate:slot", 1) == 0


# several windows in one step ---------------------------------------------------------------


async def test_hit_each_counts_every_window_until_one_is_over(limiter: RateLimiter) -> None:
    limits = [("rate:ip:a:mail", 2), ("rate:mail", 3)]

    answers = [await limiter.hit_each(limits, 60) for _ in range(3)]

    assert answers[:2] == [None, None]
    assert answers[2] == RateWindow(3, 2, 60)  # the address's window, the first over
    assert (await limiter.peek("rate:ip:a:mail", 2)).count == 3
    assert (await limiter.peek("rate:mail", 3)).count == 2  # not counted past the refusal
    assert await limiter.hit_each([("rate:ip:b:mail", 2), ("rate:mail", 3)], 60) is None
    over = await limiter.hit_each([("rate:ip:c:mail", 2), ("rate:mail", 3)], 60)
    assert over is not None
    assert (over.count, over.limit) == (4, 3)


async def test_concurrent_hit_each_counts_each_once(limiter: RateLimiter) -> None:
    limits = [("rate:ip:a:mail", 100), ("rate:mail", 100)]

    await asyncio.gather(*(limiter.hit_each(limits, 60) for _ in range(20)))

    assert (await limiter.peek("rate:ip:a:mail", 100)).count == 20
    assert (await limiter.peek("rate:mail", 100)).count == 20


async def test_hit_each_windows_end_with_their_ttl(limiter: RateLimiter, backend: Backend) -> None:
    limits = [("rate:ip:a:mail", 1)]
    await limiter.hit_each(limits, 1)
    assert await limiter.hit_each(limits, 1) is not None

    await backend.pass_time(1.1)

    assert await limiter.hit_each(limits, 1) is None


# reservations: a guess counted before it is evaluated, one evaluation at a time ----------


async def test_a_reservation_counts_the_guess_and_holds_the_one_slot(
    limiter: RateLimiter,
) -> None:
    assert await limiter.reserve(KEY, 3, 60, 10) == Reservation(True)
    assert (await limiter.peek(KEY, 3)).count == 1

    busy = await limiter.reserve(KEY, 3, 60, 10)

    assert not busy.granted
    assert busy.busy
    assert 0 < busy.retry_in_s <= 10
    assert (await limiter.peek(KEY, 3)).count == 1  # a refused guess is not counted


async def test_a_failed_guess_keeps_its_count_and_the_limit_refuses_the_next(
    limiter: RateLimiter,
) -> None:
    for _ in range(3):
        assert (await limiter.reserve(KEY, 3, 60, 10)).granted
        await limiter.release(KEY, succeeded=False)

    refused = await limiter.reserve(KEY, 3, 60, 10)

    assert not refused.granted
    assert not refused.busy
    assert 0 < refused.retry_in_s <= 60
    assert (await limiter.peek(KEY, 3)).count == 3


async def test_a_success_starts_the_count_over(limiter: RateLimiter) -> None:
    await limiter.reserve(KEY, 3, 60, 10)
    await limiter.release(KEY, succeeded=False)
    await limiter.reserve(KEY, 3, 60, 10)

    await limiter.release(KEY, succeeded=True)

    assert (await limiter.peek(KEY, 3)).count == 0
    assert (await limiter.reserve(KEY, 3, 60, 10)).granted


async def test_of_fifty_concurrent_reservations_one_is_granted(limiter: RateLimiter) -> None:
    answers = await asyncio.gather(*(limiter.reserve(KEY, 5, 60, 10) for _ in range(50)))

    assert [a.granted for a in answers].count(True) == 1
    assert all(a.busy for a in answers if not a.granted)
    assert (await limiter.peek(KEY, 5)).count == 1


async def test_concurrent_bursts_get_at_most_the_limit_granted(limiter: RateLimiter) -> None:
    granted = 0
    for _ in range(10):
        answers = await asyncio.gather(*(limiter.reserve(KEY, 5, 60, 10) for _ in range(20)))
        granted += [a.granted for a in answers].count(True)
        await limiter.release(KEY, succeeded=False)

    assert granted == 5


async def test_a_slot_never_released_frees_itself_after_the_hold(
    limiter: RateLimiter, backend: Backend
) -> None:
    assert (await limiter.reserve(KEY, 5, 60, 1)).granted
    assert (await limiter.reserve(KEY, 5, 60, 1)).busy

    await backend.pass_time(1.1)

    assert (await limiter.reserve(KEY, 5, 60, 1)).granted


# Redis: every key with a TTL, failures as ServiceUnavailable -------------------------------


async def test_redis_keeps_each_window_with_its_ttl(redis_service: RedisService) -> None:
    limiter, raw = RedisRateLimiter(redis_service.managed), redis_service.raw

    await limiter.hit("rate:u1:api", 120, 60)
    await limiter.claim("rate:email-x:otp:login", 30)

    assert await raw.get("rate:u1:api") == b"1"
    assert 55 <= await raw.ttl("rate:u1:api") <= 60
    assert 25 <= await raw.ttl("rate:email-x:otp:login") <= 30


async def test_redis_a_key_left_without_ttl_gets_one_on_the_next_hit(
    redis_service: RedisService,
) -> None:
    limiter, raw = RedisRateLimiter(redis_service.managed), redis_service.raw
    await raw.set("rate:u1:login", 3)  # written by something else, without a TTL
    await raw.set("rate:slot", 1)

    window = await limiter.hit("rate:u1:login", 5, 60)
    wait = await limiter.claim("rate:slot", 30)

    assert window == RateWindow(4, 5, 60)
    assert 55 <= await raw.ttl("rate:u1:login") <= 60
    assert wait == 30
    assert 25 <= await raw.ttl("rate:slot") <= 30


async def test_redis_every_key_written_has_a_ttl(redis_service: RedisService) -> None:
    limiter = RedisRateLimiter(redis_service.managed)
    for key in ("rate:u1:login", "rate:u1:api", "rate:ip:127.0.0.1:login"):
        await limiter.hit(key, 5, 60)
        await limiter.hit(key, 5, 60)
    await limiter.peek("rate:u2:login", 5)
    await limiter.claim("rate:email-x:otp:login", 60)
    await limiter.claim("rate:email-x:otp:login", 60)
    await limiter.hit("rate:u3:login", 5, 60)
    await limiter.reset("rate:u3:login")
    await limiter.reserve("rate:u4:login", 5, 60, 10)
    await limiter.hit_each([("rate:ip:x:mail", 1), ("rate:mail", 10)], 60)
    await limiter.hit_each([("rate:ip:x:mail", 1), ("rate:mail", 10)], 60)
    await limiter.reserve("rate:u5:login", 5, 60, 10)
    await limiter.release("rate:u5:login", succeeded=True)

    keys = await redis_service.keys()

    assert sorted(keys) == [
        b"rate:email-x:otp:login",
        b"rate:ip:127.0.0.1:login",
        b"rate:ip:x:mail",
        b"rate:mail",
        b"rate:u1:api",
        b"rate:u1:login",
        b"rate:u4:login",
        b"rate:u4:login:slot",
    ]
    assert all(ttl > 0 for ttl in [await redis_service.raw.ttl(key) for key in keys])


async def test_redis_down_is_service_unavailable(dead_redis: ManagedClient[Redis]) -> None:
    limiter = RedisRateLimiter(dead_redis)
    calls = [
        limiter.hit(KEY, 5, 60),
        limiter.peek(KEY, 5),
        limiter.reset(KEY),
        limiter.claim(KEY, 60),
        limiter.reserve(KEY, 5, 60, 10),
        limiter.release(KEY, succeeded=False),
        limiter.hit_each([(KEY, 5)], 60),
    ]

    results = await asyncio.gather(*calls, return_exceptions=True)

    assert all(isinstance(result, ServiceUnavailable) for result in results), results


async def test_forget_drops_the_count_and_the_slot_of_a_key_only(limiter: RateLimiter) -> None:
    assert await limiter.reserve(KEY, 5, 60, 10) == Reservation(True)  # slot held, 1 counted
    await limiter.hit("rate:u2:login", 5, 60)
    await limiter.claim("rate:email-x:otp:login", 60)

    await limiter.forget(KEY)
    await limiter.forget("rate:email-x:otp:login")
    await limiter.forget("rate:never-used")  # idempotent, nothing to drop

    assert (await limiter.peek(KEY, 5)).count == 0
    assert await limiter.reserve(KEY, 5, 60, 10) == Reservation(True)  # the slot was free
    assert await limiter.claim("rate:email-x:otp:login", 60) == 0
    assert (await limiter.peek("rate:u2:login", 5)).count == 1


async def test_redis_forget_leaves_no_key_behind(redis_service: RedisService) -> None:
    limiter = RedisRateLimiter(redis_service.managed)
    await limiter.reserve(KEY, 5, 60, 10)
    assert sorted(await redis_service.keys()) == [KEY.encode(), f"{KEY}:slot".encode()]

    await limiter.forget(KEY)

    assert await redis_service.keys() == []
