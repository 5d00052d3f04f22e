"""The PasswordHasher contract, held by argon2id (production) and PBKDF2 (the fast fake).

Then what only argon2 promises: OWASP's parameters, at most `max_concurrent` computations at
once (observed exactly, by counting inside the blocking calls), and an event loop that keeps
running while a hash is computed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from argon2 import extract_parameters

from adapters.argon2.hasher import Argon2PasswordHasher
from adapters.memory.hasher import MemoryPasswordHasher
from ports.security import PasswordHasher

pytestmark = pytest.mark.contract

PASSWORD = "correct horse battery"

MALFORMED_HASHES = [
    "",
    " ",
    "garbage",
    "$",
    "$$$$$",
    "\x00" * 16,
    "ünïcödé$hash",
    "$argon2id$",
    "$argon2id$v=19$m=19456,t=2,p=1$",
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$",
    "$argon2id$v=19$m=19456,t=2,p=1$é$é",
    "$argon2x$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
    "pbkdf2$",
    "pbkdf2$1000$$",
    "pbkdf2$1000$zz$" + "00" * 32,
    "pbkdf2$-1$00$" + "00" * 32,
    "pbkdf2$ 1000$00$" + "00" * 32,
    "pbkdf2$1000$00$" + "00" * 31,
    "pbkdf2$99999999999$00$" + "00" * 32,
]


@pytest.fixture(params=["argon2", "memory"])
def hasher(request: pytest.FixtureRequest) -> Iterator[PasswordHasher]:
    if request.param == "argon2":
        argon2 = Argon2PasswordHasher(max_concurrent=2)
        yield argon2
        argon2.close()
    else:
        yield MemoryPasswordHasher()


# The contract ------------------------------------------------------------------------------


async def test_the_right_password_verifies(hasher: PasswordHasher) -> None:
    password_hash = await hasher.hash(PASSWORD)

    assert await hasher.verify(password_hash, PASSWORD) is True


@pytest.mark.parametrize(
    "attempt", ["correct horse batter", "Correct horse battery", PASSWORD + " ", "", "x" * 256]
)
async def test_a_wrong_password_does_not_verify(hasher: PasswordHasher, attempt: str) -> None:
    password_hash = await hasher.hash(PASSWORD)

    assert await hasher.verify(password_hash, attempt) is False


@pytest.mark.parametrize("malformed", MALFORMED_HASHES)
async def test_a_malformed_hash_does_not_verify_and_does_not_raise(
    hasher: PasswordHasher, malformed: str
) -> None:
    assert await hasher.verify(malformed, PASSWORD) is False
    assert await hasher.verify(malformed, "") is False


async def test_a_truncated_or_tampered_hash_does_not_verify(hasher: PasswordHasher) -> None:
    password_hash = await hasher.hash(PASSWORD)
    middle = len(password_hash) - 10  # inside the digest, whatever its encoding
    other = "0" if password_hash[middle] != "0" else "1"  # a different value in hex and base64
    tampered = password_hash[:middle] + other + password_hash[middle + 1 :]

    assert await hasher.verify(password_hash[:-4], PASSWORD) is False
    assert await hasher.verify(tampered, PASSWORD) is False


async def test_a_hash_made_by_the_other_adapter_does_not_verify(hasher: PasswordHasher) -> None:
    if isinstance(hasher, Argon2PasswordHasher):
        foreign = await MemoryPasswordHasher().hash(PASSWORD)
    else:
        argon2 = Argon2PasswordHasher()
        try:
            foreign = await argon2.hash(PASSWORD)
        finally:
            argon2.close()

    assert await hasher.verify(foreign, PASSWORD) is False


async def test_two_hashes_of_one_password_differ_and_both_verify(hasher: PasswordHasher) -> None:
    first, second = await hasher.hash(PASSWORD), await hasher.hash(PASSWORD)

    assert first != second
    assert await hasher.verify(first, PASSWORD)
    assert await hasher.verify(second, PASSWORD)


async def test_a_unicode_password_verifies_only_as_typed(hasher: PasswordHasher) -> None:
    password = "pässwörd🔑 long enough"
    password_hash = await hasher.hash(password)

    assert await hasher.verify(password_hash, password)
    assert not await hasher.verify(password_hash, "passwörd🔑 long enough")
    assert not await hasher.verify(password_hash, "pässwörd long enough")


async def test_a_password_of_the_maximum_length_verifies_whole(hasher: PasswordHasher) -> None:
    password = "ab🔑" * 85 + "z"  # 256 characters, 426 UTF-8 bytes
    assert len(password) == 256
    password_hash = await hasher.hash(password)

    assert await hasher.verify(password_hash, password)
    assert not await hasher.verify(password_hash, password[:-1])
    assert not await hasher.verify(password_hash, password[:-1] + "y")


async def test_a_password_with_a_lone_surrogate_hashes_and_verifies(
    hasher: PasswordHasher,
) -> None:
    password = "half a pair \ud83d here"  # what JSON's "\ud83d" decodes to
    password_hash = await hasher.hash(password)

    assert await hasher.verify(password_hash, password)
    assert not await hasher.verify(password_hash, "half a pair  here")


# argon2 only -------------------------------------------------------------------------------


class CountingArgon2(Argon2PasswordHasher):
    """Counts the blocking computations in flight, from inside them."""

    def __init__(self, max_concurrent: int) -> None:
        super().__init__(max_concurrent=max_concurrent)
        self._lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.computed = 0
        self.threads: set[int] = set()
        self.full = threading.Event()  # set once max_concurrent computations run together

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.computed += 1
            self.peak = max(self.peak, self.in_flight)
            if self.in_flight == self.max_concurrent:
                self.full.set()
            self.threads.add(threading.get_ident())

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _hash_sync(self, password: str) -> str:
        self._enter()
        try:
            return super()._hash_sync(password)
        finally:
            self._leave()

    def _verify_sync(self, password_hash: str, password: str) -> bool:
        self._enter()
        try:
            return super()._verify_sync(password_hash, password)
        finally:
            self._leave()


@pytest.fixture
def counting() -> Iterator[CountingArgon2]:
    hasher = CountingArgon2(max_concurrent=2)
    yield hasher
    hasher.close()


async def test_argon2_hashes_declare_argon2id_at_owasps_minimum() -> None:
    hasher = Argon2PasswordHasher()
    try:
        password_hash = await hasher.hash(PASSWORD)
    finally:
        hasher.close()

    assert password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    params = extract_parameters(password_hash)
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19456, 2, 1)
    assert (params.salt_len, params.hash_len) == (16, 32)


async def test_argon2_never_runs_more_than_max_concurrent_computations(
    counting: CountingArgon2,
) -> None:
    stored = await counting.hash(PASSWORD)
    counting.peak = counting.computed = 0

    results = await asyncio.gather(
        *(counting.hash(f"{PASSWORD} {i}") for i in range(8)),
        *(counting.verify(stored, PASSWORD if i % 2 else "wrong") for i in range(8)),
    )

    assert counting.computed == 16
    assert counting.peak == 2  # the bound is reached, never passed
    assert counting.in_flight == 0
    assert results[8:] == [i % 2 == 1 for i in range(8)]
    assert threading.get_ident() not in counting.threads  # never on the event loop's thread


async def test_argon2_keeps_the_bound_when_waiting_callers_are_cancelled(
    counting: CountingArgon2,
) -> None:
    doomed = [asyncio.create_task(counting.hash(f"doomed {i}")) for i in range(6)]
    assert await asyncio.to_thread(counting.full.wait, 5)
    for task in doomed:  # two of them are mid-computation on their threads
        task.cancel()
    await asyncio.gather(*doomed, return_exceptions=True)

    hashes = await asyncio.gather(*(counting.hash(f"after {i}") for i in range(6)))

    assert counting.peak == 2
    assert all(
        await asyncio.gather(*(counting.verify(h, f"after {i}") for i, h in enumerate(hashes)))
    )


async def test_argon2_refuses_a_hash_too_costly_to_compute_without_computing_it(
    counting: CountingArgon2,
) -> None:
    genuine = await counting.hash(PASSWORD)
    counting.computed = 0
    costly = [
        genuine.replace("m=19456", "m=4194304"),  # 4 GiB
        genuine.replace("t=2", "t=1000"),
        genuine.replace("p=1", "p=64"),
    ]

    for password_hash in costly:
        assert await counting.verify(password_hash, PASSWORD) is False
    assert counting.computed == 0


async def test_argon2_still_verifies_hashes_made_with_argon2_cffis_defaults() -> None:
    from argon2 import PasswordHasher as Argon2Defaults

    legacy = Argon2Defaults().hash(PASSWORD)  # 64 MiB, t=3, p=4
    hasher = Argon2PasswordHasher()
    try:
        assert await hasher.verify(legacy, PASSWORD)
        assert not await hasher.verify(legacy, "wrong")
    finally:
        hasher.close()


async def test_argon2_keeps_the_event_loop_running_while_it_hashes(
    counting: CountingArgon2,
) -> None:
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            await asyncio.sleep(0.005)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)  # the ticker is running
    try:
        before = ticks
        for i in range(4):  # ~20 ms each here; a blocked loop would not tick at all
            password_hash = await counting.hash(f"{PASSWORD} {i}")
            assert await counting.verify(password_hash, f"{PASSWORD} {i}")
        during = ticks - before
    finally:
        stop.set()
        await ticking

    assert counting.computed == 8
    assert during >= 8, f"only {during} ticks during 8 argon2 computations"
