"""The cluster link's protocol (adapters/socketio/cluster.py) between instances that share a
bus standing in for the Redis channel (delivery to every other subscriber, as PUBLISH does;
a message can be dropped, as one is while Redis is away). Over a real redis-server and real
server processes: tests/integration/test_chat_instances.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import pytest

from adapters.memory.clock import MemoryClock
from adapters.socketio.cluster import SocketIoCluster
from domain.chat.presence import Presence

pytestmark = pytest.mark.unit


class Bus:
    def __init__(self) -> None:
        self.members: list[Instance] = []
        self.sent: list[str] = []
        self.dropping = False
        self.kept: dict[str, float] = {}  # the revocations' sorted set

    async def deliver(self, sender: Instance, data: str) -> None:
        self.sent.append(data)
        if self.dropping:
            return
        for member in list(self.members):
            if member is not sender and member.subscribed:
                await member.cluster.received(data)


class Instance:
    """One instance's presence and cluster link, publishing on the bus."""

    def __init__(self, bus: Bus, clock: MemoryClock, instance_id: str) -> None:
        self.bus = bus
        self.presence = Presence()
        self.cluster = SocketIoCluster(self.presence, clock, instance_id, alive_every_s=30)
        self.gone: list[str] = []
        self.back: list[str] = []
        self.subscribed = False
        self.cluster.attach(self, self._users_gone, self._users_back)
        bus.members.append(self)

    async def publish_cluster(self, data: str) -> bool:
        await self.bus.deliver(self, data)
        return True

    async def keep_revocations(self, revoked: Mapping[str, float], data: str) -> bool:
        self.bus.kept.update(revoked)
        await self.bus.deliver(self, data)
        return True

    async def kept_revocations(self, now: float) -> dict[str, float] | None:
        return {s: lapse for s, lapse in self.bus.kept.items() if lapse > now}

    async def _users_gone(self, users: Sequence[str]) -> None:
        self.gone += users

    async def _users_back(self, users: Sequence[str]) -> None:
        self.back += users

    async def start(self) -> None:
        self.subscribed = True
        await self.cluster.subscribed()

    async def connect(self, user: str) -> None:
        if self.presence.connect(user):
            await self.cluster.user_online(user)

    async def disconnect(self, user: str) -> None:
        if self.presence.disconnect(user):
            await self.cluster.user_offline(user)


@pytest.fixture
def clock() -> MemoryClock:
    return MemoryClock()


async def test_a_lone_instance_publishes_only_its_hello(clock: MemoryClock) -> None:
    bus = Bus()
    a = Instance(bus, clock, "a")
    await a.start()
    for user in ("ada", "bob"):
        await a.connect(user)
        await a.disconnect(user)
    clock.advance(3600)
    await a.cluster.tick()
    assert [m.count('"t": "hello"') for m in bus.sent] == [1]
    assert not a.presence.has_peers()


async def test_a_second_instance_learns_who_is_online_and_transitions_travel(
    clock: MemoryClock,
) -> None:
    bus = Bus()
    a, b = Instance(bus, clock, "a"), Instance(bus, clock, "b")
    await a.start()
    await a.connect("ada")
    await b.start()  # hello; a answers with ada
    assert b.presence.elsewhere("ada") and a.presence.knows("b")
    await b.connect("bob")
    assert a.presence.elsewhere("bob")
    await b.disconnect("bob")
    assert not a.presence.is_online("bob")
    await b.cluster.stop()  # bye: a forgets b at once
    assert not a.presence.has_peers()


async def test_a_dead_peer_is_dropped_and_its_users_announced_once(clock: MemoryClock) -> None:
    bus = Bus()
    a, b, c = Instance(bus, clock, "a"), Instance(bus, clock, "b"), Instance(bus, clock, "c")
    for instance in (a, b, c):
        await instance.start()
    await c.connect("cy")
    await c.connect("dan")
    await a.connect("dan")  # dan is also on a: not offline when c dies
    bus.members.remove(c)  # c dies: silent from now on
    for _ in range(9):  # 90 s of ticks every 10 s
        clock.advance(10)
        await a.cluster.tick()
        await b.cluster.tick()
    assert a.gone == ["cy"]  # the lowest survivor announces
    assert b.gone == []
    assert not a.presence.knows("c") and not b.presence.knows("c")


async def test_alive_is_said_once_per_interval_and_only_with_peers(clock: MemoryClock) -> None:
    bus = Bus()
    a, b = Instance(bus, clock, "a"), Instance(bus, clock, "b")
    await a.start()
    await b.start()
    bus.sent.clear()
    for _ in range(6):  # a minute of ticks
        clock.advance(10)
        await a.cluster.tick()
        await b.cluster.tick()
    alive = [m for m in bus.sent if '"t": "alive"' in m]
    assert len(alive) == 4  # 2 per instance-minute
    assert len(bus.sent) == 4  # and nothing else while nothing changes


async def test_a_missed_hello_is_repaired_by_the_next_message(clock: MemoryClock) -> None:
    bus = Bus()
    a, b = Instance(bus, clock, "a"), Instance(bus, clock, "b")
    await a.start()
    await a.connect("ada")
    bus.dropping = True
    await b.start()  # nobody hears this hello
    bus.dropping = False
    assert not a.presence.knows("b") and not b.presence.knows("a")
    await a.cluster.subscribed()  # a resubscribes (after an outage): hello again
    assert b.presence.elsewhere("ada") and a.presence.knows("b")


async def test_a_missed_transition_is_repaired_at_the_next_alive(clock: MemoryClock) -> None:
    bus = Bus()
    a, b = Instance(bus, clock, "a"), Instance(bus, clock, "b")
    await a.start()
    await b.start()
    bus.dropping = True
    await b.connect("bob")  # lost
    bus.dropping = False
    assert not a.presence.is_online("bob")
    clock.advance(30)
    await b.cluster.tick()  # alive with a digest a does not match: everyone resyncs
    assert a.presence.elsewhere("bob")


async def test_a_restarted_instance_clears_what_its_predecessor_had(clock: MemoryClock) -> None:
    bus = Bus()
    a, b = Instance(bus, clock, "a"), Instance(bus, clock, "b")
    await a.start()
    await b.start()
    await b.connect("bob")
    bus.members.remove(b)
    again = Instance(bus, clock, "b")  # the same machine id, nobody connected yet
    await again.start()
    assert a.gone == ["bob"]
    assert not a.presence.is_online("bob")


async def test_after_a_long_outage_the_instances_resync_and_tell_who_is_back(
    clock: MemoryClock,
) -> None:
    bus = Bus()
    a, b = Instance(bus, clock, "a"), Instance(bus, clock, "b")
    await a.start()
    await b.start()
    await b.connect("bob")
    bus.dropping = True  # Redis away for 100 s: each takes the other for dead
    for _ in range(10):
        clock.advance(10)
        await a.cluster.tick()
        await b.cluster.tick()
    assert a.gone == ["bob"] and not a.presence.has_peers()
    bus.dropping = False
    await b.cluster.subscribed()  # b's listener is back first: hello
    assert a.presence.elsewhere("bob") and b.presence.knows("a")
    assert a.back == ["bob"]  # bob's rooms hear he is online again
    await a.cluster.subscribed()  # a's hello: nothing new for b
    assert b.back == []


# session revocations ---------------------------------------------------------------------


class Heard:
    def __init__(self, instance: Instance) -> None:
        self.revoked: dict[str, datetime] = {}
        instance.cluster.subscribe(self.hear)

    async def hear(self, revoked: Mapping[str, datetime]) -> None:
        self.revoked.update(revoked)


async def test_revocations_are_pushed_kept_for_later_instances_and_repaired_at_a_resubscribe(
    clock: MemoryClock,
) -> None:
    bus = Bus()
    a, b = Instance(bus, clock, "a"), Instance(bus, clock, "b")
    heard_by_b = Heard(b)
    for instance in (a, b):
        await instance.start()
    lapse = clock.now() + timedelta(seconds=930)

    await a.cluster.publish({"s1": lapse})
    assert heard_by_b.revoked == {"s1": lapse}  # pushed, whether or not a peer is known

    c = Instance(bus, clock, "c")  # starts later: it never heard the push
    assert await c.cluster.kept() == {"s1": lapse}

    bus.dropping = True  # Redis away: b misses the next push
    await a.cluster.publish({"s2": lapse})
    bus.dropping = False
    assert "s2" not in heard_by_b.revoked
    await b.start()  # b's listener resubscribes after the outage
    assert heard_by_b.revoked == {"s1": lapse, "s2": lapse}

    clock.advance(931)
    assert await c.cluster.kept() == {}  # lapsed: nothing left to refuse


async def test_a_malformed_revocation_message_is_ignored(clock: MemoryClock) -> None:
    bus = Bus()
    b = Instance(bus, clock, "b")
    heard = Heard(b)
    for raw in ('{"t": "rv", "i": "a", "s": [1]}', '{"t": "rv", "i": "a", "s": {"x": "soon"}}'):
        await b.cluster.received(raw)
    assert heard.revoked == {}
