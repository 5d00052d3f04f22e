"""Presence and typing state in Redis. Every key has a TTL; every operation is one command.

`presence:<userId>` (10 s): an instance renews all of its connected users with ONE script call
per interval (Upstash bills per command), which also says who was not online before.
`typing:<roomId>:<userId>` (3 s): set or renewed by one script that says whether it is new.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from adapters.redis.support import LuaScript, positive_ttl, reachable

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from adapters.lifecycle import ManagedClient

# KEYS presence keys; ARGV[1] ttl_s. Returns the indexes (1-based) of keys that were absent.
_RENEW = LuaScript("""
local fresh = {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, 1, 'EX', ARGV[1], 'GET') == false then
    table.insert(fresh, i)
  end
end
return fresh
""")

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
    def __init__(self, client: ManagedClient[Redis]) -> None:
        self._client = client

    async def renew(self, user_ids: Sequence[str], ttl_s: int) -> list[str]:
        if not user_ids:
            return []
        ttl = positive_ttl(ttl_s)
        async with reachable():
            redis = await self._client.get()
            fresh = await _RENEW(redis, [_presence_key(u) for u in user_ids], [ttl])
        return [user_ids[int(i) - 1] for i in fresh]

    async def remove(self, user_ids: Sequence[str]) -> None:
        if not user_ids:
            return
        async with reachable():
            redis = await self._client.get()
            await redis.delete(*(_presence_key(u) for u in user_ids))

    async def online(self, user_ids: Sequence[str]) -> set[str]:
        if not user_ids:
            return set()
        async with reachable():
            redis = await self._client.get()
            values = await redis.mget([_presence_key(u) for u in user_ids])
        return {u for u, v in zip(user_ids, values, strict=True) if v is not None}


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
