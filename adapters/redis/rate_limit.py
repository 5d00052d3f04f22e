"""Fixed-window counters and cooldown slots in Redis, on the keys the caller names
(`rate:<userId>:login`, ...), and the one-evaluation-at-a-time slot of a key (`<key>:slot`).
Every operation is one command (a Lua script or a DEL), and every key it writes expires.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from adapters.redis.support import LuaScript, positive_ttl, reachable, seconds_left
from domain.auth.model import RateWindow, Reservation

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from adapters.lifecycle import ManagedClient

# KEYS counters; ARGV[1] window_s, ARGV[i + 1] the limit of KEYS[i]. Counts each in order and
# stops at the first over its limit: {i, count, pttl_ms} of it, else {0, 0, 0}. A new counter
# gets its TTL in the same step, so none is ever left without one.
_HIT_EACH = LuaScript("""
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then
    redis.call('EXPIRE', key, ARGV[1])
  end
  if count > tonumber(ARGV[i + 1]) then
    return {i, count, redis.call('PTTL', key)}
  end
end
return {0, 0, 0}
""")

# KEYS[1] counter; ARGV window_s. Returns {count, pttl_ms}. The window starts at the first
# hit (EXPIRE only on a key without a TTL: a new one, or one left without by anything else).
_HIT = LuaScript("""
local count = redis.call('INCR', KEYS[1])
local pttl = redis.call('PTTL', KEYS[1])
if pttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  pttl = tonumber(ARGV[1]) * 1000
end
return {count, pttl}
""")

# KEYS[1] counter. Returns {count, pttl_ms}; {0, 0} when there is no window.
_PEEK = LuaScript("""
local count = redis.call('GET', KEYS[1])
if not count then
  return {0, 0}
end
return {tonumber(count), redis.call('PTTL', KEYS[1])}
""")

# KEYS[1] slot; ARGV ttl_s. Returns 0 when taken now, else the slot's pttl_ms.
_CLAIM = LuaScript("""
if redis.call('SET', KEYS[1], 1, 'NX', 'EX', ARGV[1]) then
  return 0
end
local pttl = redis.call('PTTL', KEYS[1])
if pttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  pttl = tonumber(ARGV[1]) * 1000
end
return pttl
""")

# KEYS[1] counter, KEYS[2] its evaluation slot; ARGV limit, window_s, hold_ms.
# Returns {granted, busy, pttl_ms}: the count is taken before the guess is evaluated.
_RESERVE = LuaScript("""
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  return {0, 0, redis.call('PTTL', KEYS[1])}
end
if not redis.call('SET', KEYS[2], 1, 'NX', 'PX', ARGV[3]) then
  return {0, 1, redis.call('PTTL', KEYS[2])}
end
if count == 0 then
  redis.call('SET', KEYS[1], 1, 'EX', ARGV[2])
else
  redis.call('INCR', KEYS[1])
end
return {1, 0, 0}
""")


def slot_key(key: str) -> str:
    return f"{key}:slot"


class RedisRateLimiter:
    def __init__(self, client: ManagedClient[Redis]) -> None:
        self._client = client

    async def hit(self, key: str, limit: int, window_s: int) -> RateWindow:
        window = positive_ttl(window_s)
        async with reachable():
            redis = await self._client.get()
            count, pttl = await _HIT(redis, [key], [window])
        return RateWindow(int(count), limit, seconds_left(int(pttl)))

    async def hit_each(self, limits: Sequence[tuple[str, int]], window_s: int) -> RateWindow | None:
        window = positive_ttl(window_s)
        keys = [key for key, _ in limits]
        args: list[str | int] = [window, *(limit for _, limit in limits)]
        async with reachable():
            redis = await self._client.get()
            index, count, pttl = await _HIT_EACH(redis, keys, args)
        if not int(index):
            return None
        return RateWindow(int(count), limits[int(index) - 1][1], seconds_left(int(pttl)))

    async def peek(self, key: str, limit: int) -> RateWindow:
        async with reachable():
            redis = await self._client.get()
            count, pttl = await _PEEK(redis, [key], [])
        count = int(count)
        return RateWindow(count, limit, seconds_left(int(pttl)) if count else 0)

    async def reset(self, key: str) -> None:
        async with reachable():
            redis = await self._client.get()
            await redis.delete(key)

    async def claim(self, key: str, ttl_s: int) -> int:
        ttl = positive_ttl(ttl_s)
        async with reachable():
            redis = await self._client.get()
            pttl = int(await _CLAIM(redis, [key], [ttl]))
        return 0 if pttl == 0 else seconds_left(pttl)

    async def reserve(self, key: str, limit: int, window_s: int, hold_s: int) -> Reservation:
        window, hold_ms = positive_ttl(window_s), positive_ttl(hold_s) * 1000
        async with reachable():
            redis = await self._client.get()
            granted, busy, pttl = await _RESERVE(
                redis, [key, slot_key(key)], [limit, window, hold_ms]
            )
        if granted:
            return Reservation(True)
        return Reservation(False, busy=bool(busy), retry_in_s=seconds_left(int(pttl)))

    async def release(self, key: str, *, succeeded: bool) -> None:
        async with reachable():
            redis = await self._client.get()
            await redis.delete(*((key, slot_key(key)) if succeeded else (slot_key(key),)))

    async def forget(self, key: str) -> None:
        async with reachable():
            redis = await self._client.get()
            await redis.delete(key, slot_key(key))
