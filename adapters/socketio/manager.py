"""python-socketio's Redis manager, plus what it cannot do by itself:

- put the sockets of a user that are connected to *other* instances into a room (and take them
  out after `room:member_left` names that user):
  `room:added` is emitted to `user:<id>` (every socket of the user, wherever it is connected);
  each instance, as it delivers that event to its own sockets, makes them join `room:<id>` too.
  Local emits pass through the same `_handle_emit`, so one path serves both;
- bound the publish: the manager's own client has no socket timeout, so with Redis hanging
  (paused, a network partition) a publish waits forever, and with it the message's sender and
  every sender of that room waiting for its turn. The local sockets have their event before
  the publish starts; what cannot be published in `publish_timeout_s` is given up and logged,
  as the manager does when Redis refuses;
- carry the cluster link's messages (adapters/socketio/cluster.py) on a second channel of the
  same subscription (one connection, one SUBSCRIBE), and tell the link each time the listener
  (re)subscribes, so the instances find each other again after an outage;
- not decode its own messages: Redis hands every subscriber what it published, and upstream's
  listener JSON-decodes each message only to drop ours by `host_id`. Every message this
  manager publishes is a dict whose last key is `host_id` (its own), serialized by
  `self.json.dumps`, so its text ends with `, "host_id": "<ours>"}` exactly; another
  instance's ends with that instance's id, and a `callback` message, which names the *target*
  host, ends with its `args` list. Those bytes are compared before any decoding
  (`skip_own = False` decodes everything, as upstream: the bench's A/B switch);
- deliver locally without a task per recipient (adapters/socketio/fanout.py);
- come back soon after Redis does: upstream's listener retries with a backoff doubling up to
  60 s, so after a long outage fan-out would stay off for up to a minute after Redis returned;
  here the backoff stops at `listen_retry_max_s`.

These override private methods (no public hook exists); tests/unit/test_socketio_overrides.py
fails when upstream changes them. Why each exists: docs/decisions/chat-realtime.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import socketio

from adapters.socketio.broadcaster import NAMESPACE, room_of
from adapters.socketio.fanout import SerialFanoutManager

if TYPE_CHECKING:
    from adapters.redis.meter import RedisCommandMeter
    from adapters.socketio.cluster import SocketIoCluster

log = logging.getLogger("flowhub.realtime")

# How long a relayed typing state is remembered without news (its typist's instance ends it
# after 3 s; this only bounds the memory of ends that never arrived)
RELAYED_TYPING_S = 10.0


# The MRO puts SerialFanoutManager.emit where upstream's pub/sub layer calls
# `super().emit` for the local delivery: RoomJoining, AsyncRedis, AsyncPubSub, SerialFanout,
# AsyncManager
class RoomJoiningRedisManager(socketio.AsyncRedisManager, SerialFanoutManager):  # type: ignore[misc]
    publish_timeout_s = 1.0
    listen_retry_max_s = 5.0
    skip_own = True
    cluster: SocketIoCluster | None = None
    # counts this manager's commands with the app client's (the admin gauge): its PUBLISHes,
    # SUBSCRIBE, the revocations it keeps
    meter: RedisCommandMeter | None = None
    _relayed_typing: dict[tuple[object, object], float]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._relayed_typing = {}

    connected: bool  # upstream's, set by _redis_connect
    redis: Any

    def _redis_connect(self) -> None:
        super()._redis_connect()
        if self.meter is not None:  # before its first connection opens: from_url opens none
            from adapters.redis.meter import counting

            pool = self.redis.connection_pool
            pool.connection_class = counting(pool.connection_class, self.meter)

    @property
    def cluster_channel(self) -> str:
        return f"{self.channel}:cluster"

    async def publish_cluster(self, data: str) -> bool:
        """One cluster message, bounded like an emit's publish; False when it was lost."""
        try:
            async with asyncio.timeout(self.publish_timeout_s):
                if not self.connected:
                    self._redis_connect()
                await self.redis.publish(self.cluster_channel, data)
                return True
        except Exception as error:
            self.connected = False
            log.warning("cluster message not published", extra={"redis_exception": str(error)})
            return False

    @property
    def revocations_key(self) -> str:
        return f"{self.channel}:revoked"

    async def keep_revocations(self, revoked: Mapping[str, float], data: str) -> bool:
        """Add the revocations to the sorted set (scored by their lapse), drop the lapsed
        ones, let the key expire with the last lapse, and publish `data` to the instances:
        four commands in one round trip, once per logout. False when any of it failed."""
        key, now = self.revocations_key, time.time()
        try:
            async with asyncio.timeout(self.publish_timeout_s):
                if not self.connected:
                    self._redis_connect()
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.zadd(key, dict(revoked))
                    pipe.zremrangebyscore(key, "-inf", now)
                    pipe.expireat(key, int(max(revoked.values())) + 1)
                    pipe.publish(self.cluster_channel, data)
                    await pipe.execute()
                return True
        except Exception as error:
            self.connected = False
            log.warning("revocations not kept", extra={"redis_exception": str(error)})
            return False

    async def kept_revocations(self, now: float) -> dict[str, float] | None:
        try:
            async with asyncio.timeout(self.publish_timeout_s):
                if not self.connected:
                    self._redis_connect()
                kept = await self.redis.zrangebyscore(
                    self.revocations_key, now, "+inf", withscores=True
                )
        except Exception as error:
            self.connected = False
            log.warning("revocations not read", extra={"redis_exception": str(error)})
            return None
        return {_text(member): float(score) for member, score in kept}

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("event") == "room:added":
            await self._join_added_room(message)
        if message.get("host_id") != self.host_id and not await self._follow_typing(message):
            return
        await super()._handle_emit(message)
        if message.get("event") == "room:member_left":
            await self._leave_left_room(message)

    async def _leave_left_room(self, message: dict[str, Any]) -> None:
        """After `room:member_left` reached this instance's sockets in the room, the ones of
        the user who left are taken out of it."""
        data = message.get("data")
        item = data[0] if isinstance(data, list) and data else None
        if not isinstance(item, dict):
            return
        room_id, user_id = item.get("room_id"), item.get("user_id")
        if not (isinstance(room_id, str) and isinstance(user_id, str)):
            return
        namespace = message.get("namespace") or NAMESPACE
        for sid, _ in list(self.get_participants(namespace, f"user:{user_id}")):
            await socketio.AsyncManager.leave_room(self, sid, namespace, room_of(room_id))

    async def _follow_typing(self, message: dict[str, Any]) -> bool:
        """Another instance's `typing` and `message:new`, on their way to this one's sockets:
        a typing state relayed here ends when its typist's message arrives (the typist's
        instance does not publish that end); a later end of it is not delivered twice.
        False: drop the message."""
        event, data = message.get("event"), message.get("data")
        item = data[0] if isinstance(data, list) and data else None
        if not isinstance(item, dict):
            return True
        if event == "typing":
            key = (item.get("room_id"), item.get("user_id"))
            if item.get("is_typing"):
                self._relayed_typing[key] = asyncio.get_running_loop().time() + RELAYED_TYPING_S
                self._sweep_relayed_typing()
                return True
            return self._relayed_typing.pop(key, None) is not None
        if event == "message:new":
            key = (item.get("room_id"), item.get("sender_id"))
            if self._relayed_typing.pop(key, None) is not None:
                await super()._handle_emit(message)
                ended = {"room_id": key[0], "user_id": key[1], "is_typing": False}
                namespace = message.get("namespace") or NAMESPACE
                await SerialFanoutManager.emit(
                    self, "typing", ended, namespace=namespace, room=room_of(str(key[0]))
                )
                return False  # delivered above, before the end of typing
        return True

    def _sweep_relayed_typing(self) -> None:
        if len(self._relayed_typing) > 1024:
            now = asyncio.get_running_loop().time()
            self._relayed_typing = {k: t for k, t in self._relayed_typing.items() if t > now}

    async def _join_added_room(self, message: dict[str, Any]) -> None:
        target, data = message.get("room"), message.get("data")
        if not (isinstance(target, str) and target.startswith("user:")):
            return
        room = data[0] if isinstance(data, list) and data else None
        room_id = room.get("id") if isinstance(room, dict) else None
        if not isinstance(room_id, str):
            return
        namespace = message.get("namespace") or NAMESPACE
        for sid, _ in list(self.get_participants(namespace, target)):
            await socketio.AsyncManager.enter_room(self, sid, namespace, room_of(room_id))

    async def _publish(self, data: Any) -> Any:
        try:
            async with asyncio.timeout(self.publish_timeout_s):
                return await super()._publish(data)
        except TimeoutError:
            # redis-py drops a connection whose command was cancelled: the next publish
            # opens a fresh one
            log.warning("publish to Redis timed out: the event reached this instance only")
            return None

    def own_suffix(self) -> bytes:
        """How every message this manager publishes ends, in the serializer's own spelling."""
        text: str = self.json.dumps({"method": "emit", "host_id": self.host_id})
        return text[text.index('"emit"') + len('"emit"') :].encode()

    async def _tell_cluster(self, data: bytes | None) -> None:
        """The cluster link's turn: a (re)subscription (`None`) or one of its messages. What
        fails there is logged, never taken for a Redis failure of the listener."""
        if self.cluster is None:
            return
        try:
            if data is None:
                await self.cluster.subscribed()
            else:
                await self.cluster.received(data)
        except Exception:
            log.exception("cluster message handling failed")

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        """python-socketio 5.x's loop, with the backoff capped at `listen_retry_max_s`."""
        retry_sleep = 1.0
        subscribed = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel, self.cluster_channel)
                    retry_sleep = 1.0
                    await self._tell_cluster(None)
                cluster_channel = self.cluster_channel.encode()
                own = self.own_suffix() if self.skip_own else None
                async for message in self.pubsub.listen():
                    if message.get("channel") == cluster_channel:
                        if message.get("type") == "message":
                            await self._tell_cluster(message["data"])
                        continue
                    if own is not None and _ends_with(message.get("data"), own):
                        continue  # ours: upstream would decode it only to drop it
                    yield message
            except Exception as error:
                log.warning(
                    "cannot receive from Redis; retrying in %.0f s",
                    retry_sleep,
                    extra={"redis_exception": str(error)},
                )
                subscribed = False
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, self.listen_retry_max_s)


def _ends_with(data: object, suffix: bytes) -> bool:
    return isinstance(data, bytes) and data.endswith(suffix)


def _text(member: bytes | str) -> str:
    return member.decode() if isinstance(member, bytes) else member
