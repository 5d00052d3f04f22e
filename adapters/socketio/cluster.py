"""The other instances, over the Redis pub/sub connection the Socket.IO manager already holds
(a second channel on it, `<channel>:cluster`): who is alive, and who is online on each.

Messages (JSON, `t` the type, `i` the sender's instance id):
- `hello {u}`: sent at every (re)subscription, with this instance's users; every peer records
  them and answers `here {u}` with its own. A restarted instance (same id) says hello with
  none: what its predecessor had is offline.
- `on {u}` / `off {u}`: a user's first socket here / their last one left, only while a peer
  lives (a lone instance publishes nothing).
- `alive {d}`: every `alive_every_s` (30 s), only while a peer lives, with a digest of this
  instance's users; a peer whose view differs answers `hello`, which resyncs everyone (a missed
  `on`/`off` is repaired within one interval).
- `bye`: a graceful stop; the peers drop it at once.
- `rv {s}`: sessions revoked here (`s` maps each id to the epoch second its last access token
  has lapsed by); sent whether or not a peer is known (an instance may be starting). The same
  revocations go to a sorted set, `<channel>:revoked`, that an instance reads each time it
  (re)subscribes: one that starts, or comes back from an outage, knows what it missed.

A peer not heard from for `lapse_s` (2.5 intervals) is taken for dead: its users not online
elsewhere are announced offline by one survivor (the lowest instance id), checked every third
of an interval, so within `lapse_s + alive_every_s / 3` (85 s) of its death. The check and
the `alive` run in a task that exists only while a peer does: alone, no timer, no command.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from domain.chat.presence import Presence
from domain.errors import ServiceUnavailable
from ports.clock import Clock
from ports.revocations import RevocationsHeard

log = logging.getLogger("flowhub.realtime")

type UsersChanged = Callable[[Sequence[str]], Awaitable[None]]


class Publisher(Protocol):
    async def publish_cluster(self, data: str) -> bool: ...

    async def keep_revocations(self, revoked: Mapping[str, float], data: str) -> bool:
        """Store the revocations (id -> lapse, epoch seconds) and publish `data`."""
        ...

    async def kept_revocations(self, now: float) -> dict[str, float] | None:
        """The stored revocations not lapsed at `now`; None when Redis cannot say."""
        ...


class SocketIoCluster:
    def __init__(
        self, presence: Presence, clock: Clock, instance_id: str, alive_every_s: float = 30.0
    ) -> None:
        self._presence = presence
        self._clock = clock
        self.instance_id = instance_id
        self._alive_every_s = alive_every_s
        self._lapse_s = alive_every_s * 2.5
        self._publisher: Publisher | None = None
        self._users_gone: UsersChanged | None = None
        self._users_back: UsersChanged | None = None
        self._revocations_heard: RevocationsHeard | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._last_alive = 0.0
        self.published: dict[str, int] = {}  # per message type, for the logs at stop

    def attach(
        self, publisher: Publisher, users_gone: UsersChanged, users_back: UsersChanged
    ) -> None:
        self._publisher = publisher
        self._users_gone = users_gone
        self._users_back = users_back

    # ClusterLink ---------------------------------------------------------------------

    async def user_online(self, user_id: str) -> None:
        if self._presence.has_peers():
            await self._publish("on", u=user_id)

    async def user_offline(self, user_id: str) -> None:
        if self._presence.has_peers():
            await self._publish("off", u=user_id)

    # RevocationFeed ------------------------------------------------------------------

    async def publish(self, revoked: Mapping[str, datetime]) -> None:
        if self._publisher is None:
            return
        lapses = {session_id: until.timestamp() for session_id, until in revoked.items()}
        self.published["rv"] = self.published.get("rv", 0) + 1
        message = json.dumps({"t": "rv", "i": self.instance_id, "s": lapses})
        if not await self._publisher.keep_revocations(lapses, message):
            log.warning("session revocations not shared: only this instance refuses them")

    async def kept(self) -> Mapping[str, datetime]:
        if self._publisher is None:
            return {}
        kept = await self._publisher.kept_revocations(self._clock.now().timestamp())
        return _lapses(kept or {})

    def subscribe(self, heard: RevocationsHeard) -> None:
        self._revocations_heard = heard

    # from the manager ----------------------------------------------------------------

    async def subscribed(self) -> None:
        """The listener (re)subscribed: whoever is there learns of this instance, and this
        instance learns what was revoked while it was not listening."""
        await self._publish("hello", u=self._presence.here())
        if self._revocations_heard is not None:  # not before the first use: it reads `kept`
            await self._revocations_heard(await self.kept())

    async def received(self, raw: bytes | str) -> None:
        try:
            message = json.loads(raw)
            kind, sender = message["t"], message["i"]
        except (ValueError, KeyError, TypeError):
            log.warning("malformed cluster message ignored")
            return
        if not isinstance(sender, str) or sender == self.instance_id:
            return
        if kind == "rv":
            revoked = message.get("s")
            if isinstance(revoked, dict) and self._revocations_heard is not None:
                await self._revocations_heard(_lapses(revoked))
            return
        now = self._clock.monotonic()
        presence = self._presence
        if kind in ("hello", "here"):
            gone, came = presence.peer_has(sender, _users(message.get("u")), now)
            if kind == "hello":
                await self._publish("here", u=presence.here())
            await self._gone(gone, sender)
            # users a resync finds (after an outage, or a lost `on`): their rooms are told
            await self._by_one(self._users_back, came, sender)
        elif kind == "bye":
            await self._gone(presence.peer_gone(sender), sender)
        elif kind in ("on", "off", "alive"):
            unknown = not presence.knows(sender)
            user = message.get("u")
            if kind == "on" and isinstance(user, str):
                presence.peer_online(sender, user, now)
            elif kind == "off" and isinstance(user, str):
                presence.peer_offline(sender, user, now)
            else:
                presence.seen(sender, now)
            drifted = kind == "alive" and message.get("d") != presence.peer_digest(sender)
            if unknown or drifted:  # a hello missed, or a transition: everyone resyncs
                await self._publish("hello", u=presence.here())
        self._keep_ticking()

    async def stop(self) -> None:
        """A graceful stop: the peers forget this instance at once."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if self._presence.has_peers():
            await self._publish("bye")

    # support -------------------------------------------------------------------------

    def _keep_ticking(self) -> None:
        if self._presence.has_peers() and self._ticker is None:
            self._last_alive = self._clock.monotonic()  # hello/here just said as much
            self._ticker = asyncio.get_running_loop().create_task(
                self._tick_while_peers(), name="cluster-alive"
            )

    async def _tick_while_peers(self) -> None:
        try:
            while self._presence.has_peers():
                await asyncio.sleep(self._alive_every_s / 3)
                await self.tick()
        finally:
            self._ticker = None

    async def tick(self) -> None:
        """Drop the peers not heard from for `lapse_s`; say `alive` once per interval."""
        presence = self._presence
        now = self._clock.monotonic()
        for peer in presence.lapsed(now, self._lapse_s):
            log.warning("instance %s not heard from; its users are offline", peer)
            await self._gone(presence.peer_gone(peer), peer)
        if presence.has_peers() and now - self._last_alive >= self._alive_every_s * 0.99:
            self._last_alive = now
            await self._publish("alive", d=presence.digest())

    async def _gone(self, users: Sequence[str], peer: str) -> None:
        await self._by_one(self._users_gone, users, peer)

    async def _by_one(self, tell: UsersChanged | None, users: Sequence[str], peer: str) -> None:
        """Announce what changed about `peer`'s users, if this instance is the one (the
        lowest id but the peer's) that does."""
        others = [p for p in self._presence.peers() if p != peer] + [self.instance_id]
        if not users or tell is None or min(others) != self.instance_id:
            return
        try:
            await tell(users)
        except ServiceUnavailable:
            log.warning("could not announce the presence of instance %s's users", peer)

    async def _publish(self, kind: str, **fields: Any) -> None:
        if self._publisher is None:
            return
        self.published[kind] = self.published.get(kind, 0) + 1
        await self._publisher.publish_cluster(
            json.dumps({"t": kind, "i": self.instance_id, **fields})
        )


def _lapses(revoked: Mapping[Any, Any]) -> dict[str, datetime]:
    return {
        str(session_id): datetime.fromtimestamp(lapse, UTC)
        for session_id, lapse in revoked.items()
        if isinstance(lapse, int | float) and not isinstance(lapse, bool)
    }


def _users(value: object) -> list[str]:
    return [u for u in value if isinstance(u, str)] if isinstance(value, list) else []
