"""Argon2id password hashing at OWASP's minimum, off the event loop and a few at a time.

Each hash or verify allocates `MEMORY_COST_KIB` (19 MiB). argon2-cffi's defaults (64 MiB, t=3,
p=4) would let eight concurrent logins fill a 512 MB machine, and even at 19 MiB an unbounded
burst would not fit: at most `max_concurrent` computations run at once, in a dedicated pool of
that many threads (argon2's C code releases the GIL, so the event loop keeps serving).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

MEMORY_COST_KIB = 19456
TIME_COST = 2
PARALLELISM = 1
HASH_LEN = 32
SALT_LEN = 16

# A stored hash asking for more than this is refused without being computed: verifying it
# would allocate its memory cost, and a corrupt or planted record must not be able to exhaust
# the machine. argon2-cffi's own defaults (64 MiB, t=3, p=4) still pass, so hashes made with
# them stay verifiable.
MAX_MEMORY_COST_KIB = 65536
MAX_TIME_COST = 10
MAX_PARALLELISM = 4


def _password_bytes(password: str) -> bytes:
    # "surrogatepass": a lone surrogate (JSON allows "\ud800") must not make hashing raise.
    return password.encode("utf-8", "surrogatepass")


class Argon2PasswordHasher:
    """argon2id, m=19456 KiB, t=2, p=1, 32-byte hash, 16-byte salt (OWASP's minimum).

    A caller that is cancelled while its computation runs gets its slot back at once, but the
    computation finishes on its thread: the pool's size, not the semaphore, is what bounds the
    memory in use. The semaphore keeps waiting callers on the event loop (cancellable, no
    executor queue) and bounds the work handed to the pool.
    """

    def __init__(self, max_concurrent: int = 2) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.max_concurrent = max_concurrent
        self._argon2 = PasswordHasher(
            time_cost=TIME_COST,
            memory_cost=MEMORY_COST_KIB,
            parallelism=PARALLELISM,
            hash_len=HASH_LEN,
            salt_len=SALT_LEN,
            type=Type.ID,
        )
        self._slots = asyncio.Semaphore(max_concurrent)
        # Threads start on first use, not here; they end when the pool is shut down or idle
        # at interpreter exit.
        self._pool = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="argon2")

    async def hash(self, password: str) -> str:
        return await self._run(lambda: self._hash_sync(password))

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when `password` matches; False on a mismatch and for a malformed, foreign or
        too costly hash (never raises for those)."""
        if not _acceptable(password_hash):
            return False
        return await self._run(lambda: self._verify_sync(password_hash, password))

    def close(self) -> None:
        """Stop the pool's threads (after the computations already running)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    # The blocking work, run on the pool's threads.

    def _hash_sync(self, password: str) -> str:
        return self._argon2.hash(_password_bytes(password))

    def _verify_sync(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, _password_bytes(password))
        except (VerificationError, ValueError):  # mismatch or corrupt; InvalidHashError too
            return False

    async def _run[T](self, job: Callable[[], T]) -> T:
        async with self._slots:
            return await asyncio.get_running_loop().run_in_executor(self._pool, job)


def _acceptable(password_hash: str) -> bool:
    """An argon2 hash whose cost this machine can afford to compute."""
    try:
        params = extract_parameters(password_hash)
    except (InvalidHashError, ValueError):
        return False
    return (
        params.memory_cost <= MAX_MEMORY_COST_KIB
        and params.time_cost <= MAX_TIME_COST
        and params.parallelism <= MAX_PARALLELISM
    )
