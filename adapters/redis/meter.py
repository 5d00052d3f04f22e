"""The Redis commands this app sends, counted as Upstash bills them, for the admin gauges.

Counted in the process, at no Redis cost: every command the client puts on the wire (its
connections' `pack_command`: single commands, each one of a pipeline, the `CLIENT SETINFO` of
a new connection, a `SCRIPT LOAD`), and for each Lua script the commands it ran
(adapters/redis/support.py's `LuaScript` has each script count its `redis.call`s and return
the figure with its answer). The Socket.IO manager's connections (PUBLISH, SUBSCRIBE, the
revocations it keeps) are counted too: adapters/socketio/manager.py gives its pool the same
counting class. Neither client sends redis-py's per-connection CLIENT SETINFO or CLIENT
MAINT_NOTIFICATIONS (adapters/redis/client.py), which redis-server 7.0 does not even count.

The count is flushed to one key per month, `meter:redis:YYYY-MM` (INCRBY; an EXPIRE the
first time in a month), at most every `flush_every_s` and only from a command's count (an
idle instance sends nothing), and at shutdown. So the gauge costs one INCRBY per busy
10 minutes per instance: at most 30 x 144 = 4,320 a month, plus 12 EXPIREs a year
(docs/decisions/admin-gauges.md). A flush whose only news is the previous flush's own INCRBY
is skipped: those commands wait for the next real one (or the shutdown flush)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ports.clock import Clock

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.connection import AbstractConnection

log = logging.getLogger("flowhub.redis")

KEY_PREFIX = "meter:redis:"
FLUSH_EVERY_S = 600
KEEP_S = 100 * 86400  # a month's key outlives the month: the gauge of last month stays readable


def month_key(clock: Clock) -> str:
    return KEY_PREFIX + clock.now().strftime("%Y-%m")


class RedisCommandMeter:
    """One per Redis client (ManagedClient): the pending count and the flushing."""

    def __init__(self, clock: Clock, flush_every_s: float = FLUSH_EVERY_S) -> None:
        self._clock = clock
        self._flush_every_s = flush_every_s
        self.pending = 0  # counted since the last flush
        self.total = 0  # counted in this process's life
        self._own = 0  # of `pending`, the commands the last flush itself sent
        self._last_flush = clock.now()
        self._redis: Redis | None = None
        self._flushing: asyncio.Task[None] | None = None

    def bind(self, redis: Redis) -> None:
        """The client to flush with (set when it opens)."""
        self._redis = redis

    def count(self, commands: int) -> None:
        self.pending += commands
        self.total += commands
        if (
            self._redis is not None
            and (self._clock.now() - self._last_flush).total_seconds() >= self._flush_every_s
            and (self._flushing is None or self._flushing.done())
        ):
            try:
                self._flushing = asyncio.get_running_loop().create_task(self.flush())
            except RuntimeError:  # no loop (a synchronous caller): the next count flushes
                return

    async def flush_done(self) -> None:
        """Wait for a flush under way, if any."""
        if self._flushing is not None:
            await asyncio.shield(self._flushing)

    async def flush(self) -> None:
        """Add the pending count to the month's key; best effort (logged)."""
        self._last_flush = self._clock.now()
        redis, pending = self._redis, self.pending
        if redis is None or pending <= self._own:
            return
        key = month_key(self._clock)
        self.pending, self._own = 0, 0
        try:
            # counted by pack_command like any other command: the next flush's `_own`
            stored = int(await redis.incrby(key, pending))
            if stored == pending:  # the first flush of the month made the key
                await redis.expire(key, KEEP_S)
            # what was counted while flushing is taken as the flush's own (its commands, a
            # new connection's handshake): alone, it waits; it is never lost
            self._own = self.pending
        except Exception as error:
            self.pending += pending  # tried again at the next flush
            log.warning("redis meter: flush failed: %r", error)

    async def this_month(self) -> int:
        """The month's key (one GET) plus what this instance has not flushed yet."""
        redis = self._redis
        if redis is None:
            return self.pending
        from adapters.redis.support import reachable

        async with reachable():
            stored = await redis.get(month_key(self._clock))
        return int(stored or 0) + self.pending


def counting(base: type[AbstractConnection], meter: RedisCommandMeter) -> type[Any]:
    """`base` (a plain or TLS connection class) counting each command it packs."""

    class Counting(base):  # type: ignore[valid-type, misc]
        def pack_command(self, *args: Any) -> list[bytes]:
            meter.count(1)
            return super().pack_command(*args)  # type: ignore[no-any-return]

    Counting.__name__ = f"Counting{base.__name__}"
    Counting.flowhub_meter = meter
    return Counting


def meter_of(redis: Redis) -> RedisCommandMeter | None:
    """The meter of a client built by `redis_client`, None for any other."""
    meter = getattr(redis.connection_pool.connection_class, "flowhub_meter", None)
    return meter if isinstance(meter, RedisCommandMeter) else None
