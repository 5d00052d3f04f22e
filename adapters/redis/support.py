"""What the Redis adapters share: failures in the domain's words, and Lua scripts by EVALSHA.

Nothing here imports redis-py at import time: the driver loads when a client first opens.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from domain.errors import ServiceUnavailable

log = logging.getLogger("flowhub.redis")

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript


@asynccontextmanager
async def reachable() -> AsyncIterator[None]:
    """Turn a Redis that cannot be reached (refused, reset, timed out) into
    `ServiceUnavailable`; the domain decides whether to fail closed or open."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import RedisError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as error:
        # OSError covers the builtin TimeoutError (asyncio.timeout) and socket errors.
        raise ServiceUnavailable() from error
    except RedisError as error:
        # A refusal (Upstash's request quota, OOM, READONLY during a failover) is the service
        # being unavailable too, not a bug of the request: fail closed or open as for a
        # dead Redis, and leave a trace.
        log.warning("redis refused a command: %s", error)
        raise ServiceUnavailable() from error


# Runs a script's body counting its commands, and answers {count, the body's answer}: the
# body's `redis.call`/`redis.pcall` go through `__flowhub_call` (adapters/redis/meter.py).
_COUNTED = """local __flowhub_n = 0
local function __flowhub_call(...)
  __flowhub_n = __flowhub_n + 1
  return redis.call(...)
end
local function __flowhub_pcall(...)
  __flowhub_n = __flowhub_n + 1
  return redis.pcall(...)
end
local __flowhub_answer = (function()
%s
end)()
return {__flowhub_n, __flowhub_answer}
"""


def counted_source(source: str) -> str:
    """`source` made to count the commands it runs (Upstash bills each of them)."""
    body = source.replace("redis.call(", "__flowhub_call(").replace(
        "redis.pcall(", "__flowhub_pcall("
    )
    return _COUNTED % body


class LuaScript:
    """A Lua script that runs atomically as one EVALSHA, billed as one command plus each
    command it runs: it counts them itself (`counted_source`), and the client's meter
    (adapters/redis/meter.py) adds them.

    redis-py's script object sends EVALSHA and, only when the server does not know the
    script yet (first use after a start or a SCRIPT FLUSH), SCRIPT LOAD and EVALSHA again.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self._script: AsyncScript | None = None

    async def __call__(self, redis: Redis, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        from adapters.redis.meter import meter_of

        if self._script is None:
            self._script = redis.register_script(counted_source(self.source))
        # `client=` runs it on the current client, whichever one registered it first.
        reply = await self._script(keys=list(keys), args=list(args), client=redis)
        ran, answer = int(reply[0]), reply[1] if len(reply) > 1 else None
        meter = meter_of(redis)
        if meter is not None:
            meter.count(ran)
        return answer


def seconds_left(pttl_ms: int) -> int:
    """Whole seconds until a key with `pttl_ms` left expires, rounded up, at least 1."""
    return max(1, math.ceil(pttl_ms / 1000))


def positive_ttl(ttl_s: int) -> int:
    """Every key the adapters write expires: a TTL must be a positive number of seconds."""
    if ttl_s < 1:
        raise ValueError(f"a TTL must be at least 1 s, got {ttl_s}")
    return int(ttl_s)


def as_text(value: bytes | str) -> str:
    """A reply as text: the clients here return bytes (`decode_responses=False`)."""
    return value.decode() if isinstance(value, bytes) else value


def as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)
