"""The cluster link's protocol (adapters/socketio/cluster.py) between instances that share a
bus standing in for the Redis channel (delivery to every other subscriber, as PUBLISH does;
a message can be dropped, as one is while Redis is away). Over a real redis-server and real
server processes: tests/integration/test_chat_instances.py."""

from __future__ import annotations

from collections.abc import Sequence

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
        self.subscribed = False
        self.cluster.attach(self, self._users_gone)
        bus.members.append(self)

    async def publish_cluster(self, data: str) -> bool:
        await self.bus.deliver(self, data)
        return True

    async def _users_gone(self, users: Sequence[str]) -> None:
        self.gone += users

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
