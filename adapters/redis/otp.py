"""Pending email codes, wrong-guess counts and password-reset grants in Redis, with the
deployment's keys:

    otp:<userId>:<purpose>            hash {purpose, code_hash, attempts}, TTL = the code's ttl_s
    rate:<userId>:otp_failures        wrong guesses this hour, from every client, TTL = 1 h
    rate:<userId>:otp_failures:<ip>   wrong guesses this hour from one client address, TTL = 1 h
    rate:<userId>:mfa_failures        wrong second-factor codes this hour, from every client
    rate:<userId>:mfa_failures:<ip>   wrong second-factor codes this hour from one client
    session:<userId>:otp              string: the reset grant id, TTL = the grant's ttl_s

Every operation is one command; read-modify-write runs as a Lua script (atomic, EVALSHA).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.redis.support import LuaScript, as_text, positive_ttl, reachable, seconds_left
from domain.auth.model import CodeCheck, CodeLimits, CodeVerdict, OtpPurpose, PendingCode

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from adapters.lifecycle import ManagedClient

# KEYS[1] code key; ARGV purpose, code_hash, ttl_s. Replaces the pending code of the purpose.
_PUT = LuaScript("""
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'purpose', ARGV[1], 'code_hash', ARGV[2], 'attempts', 0)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
""")

# KEYS[1] code key, KEYS[2] the user's wrong guesses this hour, KEYS[3] those from the client;
# ARGV code_hash, tries_per_code, wrong_per_hour, wrong_per_client_hour, window_s.
# Returns {verdict, pttl_ms}: 0 accepted, 1 wrong, 2 locked (not evaluated).
_ATTEMPT = LuaScript("""
local wrong = redis.call('MGET', KEYS[2], KEYS[3])
local user, client = tonumber(wrong[1] or '0'), tonumber(wrong[2] or '0')
if client >= tonumber(ARGV[4]) then
  return {2, redis.call('PTTL', KEYS[3])}
end
if user >= tonumber(ARGV[3]) then
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
for i, count in ipairs({user, client}) do
  if count == 0 then
    redis.call('SET', KEYS[i + 1], 1, 'EX', ARGV[5])
  else
    redis.call('INCR', KEYS[i + 1])
  end
end
return {1, 0}
""")

# KEYS[1] the user's wrong second-factor codes this hour, KEYS[2] those from the client;
# ARGV correct (1/0), wrong_per_hour, wrong_per_client_hour, window_s. Returns {verdict,
# pttl_ms} as _ATTEMPT. Commands: MGET, then SET or INCR of each key for a wrong code.
_JUDGE = LuaScript("""
local wrong = redis.call('MGET', KEYS[1], KEYS[2])
local user, client = tonumber(wrong[1] or '0'), tonumber(wrong[2] or '0')
if client >= tonumber(ARGV[3]) then
  return {2, redis.call('PTTL', KEYS[2])}
end
if user >= tonumber(ARGV[2]) then
  return {2, redis.call('PTTL', KEYS[1])}
end
if ARGV[1] == '1' then
  return {0, 0}
end
for i, count in ipairs({user, client}) do
  if count == 0 then
    redis.call('SET', KEYS[i], 1, 'EX', ARGV[4])
  else
    redis.call('INCR', KEYS[i])
  end
end
return {1, 0}
""")

# KEYS[1] grant key; ARGV grant_id. 1 exactly once for the right grant.
_TAKE_RESET = LuaScript("""
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
""")

_VERDICTS = (CodeVerdict.ACCEPTED, CodeVerdict.WRONG, CodeVerdict.LOCKED)
HOUR_S = 3600


def code_key(user_id: str, purpose: OtpPurpose) -> str:
    return f"otp:{user_id}:{purpose}"


def failures_key(user_id: str, client: str | None = None) -> str:
    base = f"rate:{user_id}:otp_failures"
    return base if client is None else f"{base}:{client}"


def mfa_failures_key(user_id: str, client: str | None = None) -> str:
    base = f"rate:{user_id}:mfa_failures"
    return base if client is None else f"{base}:{client}"


def grant_key(user_id: str) -> str:
    return f"session:{user_id}:otp"


class RedisOtpStore:
    def __init__(self, client: ManagedClient[Redis]) -> None:
        self._client = client

    async def put(self, user_id: str, purpose: OtpPurpose, code_hash: str, ttl_s: int) -> None:
        ttl = positive_ttl(ttl_s)
        async with reachable():
            redis = await self._client.get()
            await _PUT(redis, [code_key(user_id, purpose)], [str(purpose), code_hash, ttl])

    async def get(self, user_id: str, purpose: OtpPurpose) -> PendingCode | None:
        async with reachable():
            redis = await self._client.get()
            stored, code_hash, attempts = await redis.hmget(
                code_key(user_id, purpose), ["purpose", "code_hash", "attempts"]
            )
        if stored is None or code_hash is None or attempts is None:
            return None
        return PendingCode(OtpPurpose(as_text(stored)), as_text(code_hash), int(attempts))

    async def attempt(
        self,
        user_id: str,
        purpose: OtpPurpose,
        code_hash: str,
        *,
        client: str,
        limits: CodeLimits,
    ) -> CodeCheck:
        keys = [code_key(user_id, purpose), failures_key(user_id), failures_key(user_id, client)]
        args: list[str | int] = [
            code_hash,
            limits.tries_per_code,
            limits.wrong_per_hour,
            limits.wrong_per_client_hour,
            HOUR_S,
        ]
        async with reachable():
            redis = await self._client.get()
            verdict, pttl = await _ATTEMPT(redis, keys, args)
        return CodeCheck(_VERDICTS[int(verdict)], seconds_left(int(pttl)) if pttl else 0)

    async def judge(
        self, user_id: str, *, correct: bool, client: str, limits: CodeLimits
    ) -> CodeCheck:
        keys = [mfa_failures_key(user_id), mfa_failures_key(user_id, client)]
        args: list[str | int] = [
            1 if correct else 0,
            limits.wrong_per_hour,
            limits.wrong_per_client_hour,
            HOUR_S,
        ]
        async with reachable():
            redis = await self._client.get()
            verdict, pttl = await _JUDGE(redis, keys, args)
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

    async def forget(self, user_id: str) -> None:
        """A SCAN for the per-address counters (their addresses are not known), then one DEL
        of every key: rare (an account's deletion), so its few commands do not matter."""
        async with reachable():
            redis = await self._client.get()
            keys = [code_key(user_id, purpose) for purpose in OtpPurpose]
            keys += [grant_key(user_id), failures_key(user_id), mfa_failures_key(user_id)]
            for counted in (failures_key(user_id), mfa_failures_key(user_id)):
                per_client = _glob_escaped(counted) + ":*"
                keys += [as_text(k) async for k in redis.scan_iter(match=per_client, count=1000)]
            await redis.delete(*keys)


def _glob_escaped(text: str) -> str:
    """`text` matched literally by a SCAN pattern."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)
