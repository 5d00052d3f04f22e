"""Pending email codes and password-reset grants in Redis, with the deployment's keys.

    otp:<userId>          hash {purpose, code_hash, attempts}, TTL = the code's ttl_s
    session:<userId>:otp  string: the reset grant id, TTL = the grant's ttl_s
    rate:<userId>:otp_failures  wrong guesses this hour, TTL = 1 h from the first

Every operation is one command; read-modify-write runs as a Lua script (atomic, EVALSHA).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.redis.support import LuaScript, as_text, positive_ttl, reachable, seconds_left
from domain.auth.model import CodeCheck, CodeVerdict, OtpPurpose, PendingCode

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from adapters.lifecycle import ManagedClient

# KEYS[1] code key; ARGV purpose, code_hash, ttl_s. Replaces any pending code.
_PUT = LuaScript("""
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'purpose', ARGV[1], 'code_hash', ARGV[2], 'attempts', 0)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
""")

# KEYS[1] code key; ARGV max_attempts. Never creates the key; HINCRBY keeps its TTL.
_FAIL = LuaScript("""
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts >= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
end
return attempts
""")

# KEYS[1] code key; ARGV code_hash. 1 exactly once for the right hash.
_CONSUME = LuaScript("""
local stored = redis.call('HGET', KEYS[1], 'code_hash')
if stored and stored == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
""")

# KEYS[1] grant key; ARGV grant_id. 1 exactly once for the right grant.
_TAKE_RESET = LuaScript("""
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
""")

# KEYS[1] code key, KEYS[2] hourly failures; ARGV code_hash, max_attempts, failures_per_hour,
# window_s. Returns {verdict, pttl_ms}: 0 accepted, 1 wrong, 2 locked (not evaluated).
_ATTEMPT = LuaScript("""
local failures = tonumber(redis.call('GET', KEYS[2]) or '0')
if failures >= tonumber(ARGV[3]) then
  return {2, redis.call('PTTL', KEYS[2])}
end
local stored = redis.call('HGET', KEYS[1], 'code_hash')
if stored == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {0, 0}
end
if stored and redis.call('HINCRBY', KEYS[1], 'attempts', 1) >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
end
if failures == 0 then
  redis.call('SET', KEYS[2], 1, 'EX', ARGV[4])
else
  redis.call('INCR', KEYS[2])
end
return {1, 0}
""")

_VERDICTS = (CodeVerdict.ACCEPTED, CodeVerdict.WRONG, CodeVerdict.LOCKED)
FAILURES_WINDOW_S = 3600


def failures_key(user_id: str) -> str:
    return f"rate:{user_id}:otp_failures"


def code_key(user_id: str) -> str:
    return f"otp:{user_id}"


def grant_key(user_id: str) -> str:
    return f"session:{user_id}:otp"


class RedisOtpStore:
    def __init__(self, client: ManagedClient[Redis]) -> None:
        self._client = client

    async def put(self, user_id: str, purpose: OtpPurpose, code_hash: str, ttl_s: int) -> None:
        ttl = positive_ttl(ttl_s)
        async with reachable():
            redis = await self._client.get()
            await _PUT(redis, [code_key(user_id)], [str(purpose), code_hash, ttl])

    async def get(self, user_id: str) -> PendingCode | None:
        async with reachable():
            redis = await self._client.get()
            purpose, code_hash, attempts = await redis.hmget(
                code_key(user_id), ["purpose", "code_hash", "attempts"]
            )
        if purpose is None or code_hash is None or attempts is None:
            return None
        return PendingCode(OtpPurpose(as_text(purpose)), as_text(code_hash), int(attempts))

    async def fail(self, user_id: str, max_attempts: int) -> int:
        async with reachable():
            redis = await self._client.get()
            return int(await _FAIL(redis, [code_key(user_id)], [max_attempts]))

    async def consume(self, user_id: str, code_hash: str) -> bool:
        async with reachable():
            redis = await self._client.get()
            return bool(await _CONSUME(redis, [code_key(user_id)], [code_hash]))

    async def attempt(
        self, user_id: str, code_hash: str, max_attempts: int, failures_per_hour: int
    ) -> CodeCheck:
        keys = [code_key(user_id), failures_key(user_id)]
        args: list[str | int] = [code_hash, max_attempts, failures_per_hour, FAILURES_WINDOW_S]
        async with reachable():
            redis = await self._client.get()
            verdict, pttl = await _ATTEMPT(redis, keys, args)
        return CodeCheck(_VERDICTS[int(verdict)], seconds_left(int(pttl)) if pttl else 0)

    async def grant_reset(self, user_id: str, grant_id: str, ttl_s: int) -> None:
        ttl = positive_ttl(ttl_s)
        async with reachable():
            redis = await self._client.get()
            await redis.set(grant_key(user_id), grant_id, ex=ttl)

    async def take_reset(self, user_id: str, grant_id: str) -> bool:
        async with reachable():
            redis = await self._client.get()
            return bool(await _TAKE_RESET(redis, [grant_key(user_id)], [grant_id]))
