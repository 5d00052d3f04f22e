"""Presence and typing state in Redis. Every key has a TTL; every operation is one command.

`presence:<userId>` (10 s): an instance renews all of its connected users with ONE script call
per interval (Upstash bills per command), which also says who was not online before.
`typing:<roomId>:<userId>` (3 s): set or renewed by one script that says whether it is new.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from adapters.redis.support import LuaScript, as_text, positive_ttl, reachable
from domain.chat.model import PresenceRenewal

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from adapters.lifecycle import ManagedClient
    from ports.clock import Clock

# KEYS[1] the online set (user -> announced-until), KEYS[2..] presence keys; ARGV[1] ttl_s,
# ARGV[2] lapse_s, ARGV[3] now (epoch seconds, the instance's clock: scripts stay deterministic,
# as Upstash asks), ARGV[4..] the users of KEYS[2..]. Returns {indexes (1-based) of users not
# online before, users whose announced-until passed (removed from the set: reported once)}.
_RENEW = LuaScript("""
local now = tonumber(ARGV[3])
local ttl = tonumber(ARGV[1])
local lapse = tonumber(ARGV[2])
local fresh = {}
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], 1, 'EX', ttl, 'GET') == false then
    table.insert(fresh, i - 1)
  end
  redis.call('ZADD', KEYS[1], now + lapse, ARGV[i + 2])
end
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 500)
if #lapsed > 0 then
  redis.call('ZREM', KEYS[1], unpack(lapsed))
end
redis.call('EXPIRE', KEYS[1], ttl * 3)
return {fresh, lapsed}
""")

# KEYS[1] the online set, KEYS[2..] presence keys; ARGV[1] now, ARGV[2..] the users of
# KEYS[2..]. Returns the indexes (1-based) of users online: their key exists and their
# announcement has not lapsed.
_ONLINE = LuaScript("""
local now = tonumber(ARGV[1])
local online = {}
for i = 2, #KEYS do
  local until_ = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if until_ and tonumber(until_) > now and redis.call('EXISTS', KEYS[i]) == 1 then
    table.insert(online, i - 1)
  end
end
return online
""")

# KEYS[1] the online set, KEYS[2..] presence keys; ARGV the users of KEYS[2..].
_REMOVE = LuaScript("""
redis.call('DEL', unpack(KEYS, 2))
redis.call('ZREM', KEYS[1], unpack(ARGV))
return 1
""")

ONLINE_SET = "presence:online"

# KEYS[1] typing key; ARGV[1] ttl_s. Returns 1 when the key was absent.
_START = LuaScript("""
if redis.call('SET', KEYS[1], 1, 'EX', ARGV[1], 'GET') == false then
  return 1
end
return 0
""")


def _presence_key(user_id: str) -> str:
    return f"presence:{user_id}"


def _typing_key(room_id: str, user_id: str) -> str:
    return f"typing:{room_id}:{user_id}"


class RedisPresenceStore:
    def __init__(self, client: ManagedClient[Redis], clock: Clock) -> None:
        self._client = client
        self._clock = clock

    def _now(self) -> str:
        return repr(self._clock.now().timestamp())

    async def renew(
        self, user_ids: Sequence[str], ttl_s: int, lapse_s: float | None = None
    ) -> PresenceRenewal:
        ttl = positive_ttl(ttl_s)
        lapse = ttl if lapse_s is None else lapse_s
        keys = [ONLINE_SET, *(_presence_key(u) for u in user_ids)]
        async with reachable():
            redis = await self._client.get()
            fresh, lapsed = await _RENEW(
                redis, keys, [ttl, repr(float(lapse)), self._now(), *user_ids]
            )
        return PresenceRenewal(
            [user_ids[int(i) - 1] for i in fresh], sorted(as_text(u) for u in lapsed)
        )

    async def remove(self, user_ids: Sequence[str]) -> None:
        if not user_ids:
            return
        keys = [ONLINE_SET, *(_presence_key(u) for u in user_ids)]
        async with reachable():
            redis = await self._client.get()
            await _REMOVE(redis, keys, list(user_ids))

    async def online(self, user_ids: Sequence[str]) -> set[str]:
        if not user_ids:
            return set()
        async with reachable():
            redis = await self._client.get()
            keys = [ONLINE_SET, *(_presence_key(u) for u in user_ids)]
            online = await _ONLINE(redis, keys, [self._now(), *user_ids])
        return {user_ids[int(i) - 1] for i in online}


class RedisTypingStore:
    def __init__(self, client: ManagedClient[Redis]) -> None:
        self._client = client

    async def start(self, room_id: str, user_id: str, ttl_s: int) -> bool:
        ttl = positive_ttl(ttl_s)
        async with reachable():
            redis = await self._client.get()
            return int(await _START(redis, [_typing_key(room_id, user_id)], [ttl])) == 1

    async def stop(self, room_id: str, user_id: str) -> bool:
        async with reachable():
            redis = await self._client.get()
            return int(await redis.delete(_typing_key(room_id, user_id))) == 1

    async def is_typing(self, room_id: str, user_id: str) -> bool:
        async with reachable():
            redis = await self._client.get()
            return int(await redis.exists(_typing_key(room_id, user_id))) == 1
