"""RevokedSessions (domain/auth/revocations.py): what an instance refuses, for how long, whom it
tells, and what it reads at its first use. Over real instances: tests/integration/
test_revocation_attacks.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import pytest

from adapters.memory.clock import MemoryClock
from adapters.memory.revocations import LoneRevocationFeed
from domain.auth.revocations import CLOCK_SKEW_S, RevokedSessions
from ports.revocations import RevocationsHeard

pytestmark = pytest.mark.unit

TTL_S = 900


class KeptFeed(LoneRevocationFeed):
    """A feed whose store holds revocations made before this instance started."""

    def __init__(self, kept: Mapping[str, datetime]) -> None:
        super().__init__()
        self.stored = dict(kept)
        self.reads = 0
        self.heard: RevocationsHeard | None = None

    async def kept(self) -> Mapping[str, datetime]:
        self.reads += 1
        return self.stored

    def subscribe(self, heard: RevocationsHeard) -> None:
        self.heard = heard


async def test_a_revoked_session_is_refused_until_its_last_token_lapses_and_is_published() -> None:
    clock, feed = MemoryClock(), LoneRevocationFeed()
    revoked = RevokedSessions(feed, clock, TTL_S)
    ended: list[Sequence[str]] = []

    async def listener(session_ids: Sequence[str]) -> None:
        ended.append(list(session_ids))

    revoked.on_ended(listener)
    await revoked.revoke(["s1", "s2"])

    assert await revoked.is_revoked("s1") and revoked.known("s2")
    assert not await revoked.is_revoked("s3")
    assert ended == [["s1", "s2"]]
    lapse = clock.now() + timedelta(seconds=TTL_S + CLOCK_SKEW_S)
    assert feed.published == [{"s1": lapse, "s2": lapse}]
    await revoked.revoke(["s1"])  # again (a second logout-all): nobody is told twice
    assert ended == [["s1", "s2"]]
    await revoked.revoke([])  # nothing to publish
    assert len(feed.published) == 2

    clock.advance(TTL_S + CLOCK_SKEW_S - 1)
    assert revoked.known("s1")
    clock.advance(1)
    assert not revoked.known("s1")  # every access token of it has expired by now


async def test_the_first_check_reads_what_was_revoked_before_the_instance_started() -> None:
    clock = MemoryClock()
    feed = KeptFeed({"old": clock.now() + timedelta(seconds=60), "lapsed": clock.now()})
    revoked = RevokedSessions(feed, clock, TTL_S)

    assert await revoked.is_revoked("old")
    assert not await revoked.is_revoked("lapsed")
    assert feed.reads == 1  # once: every later check is a lookup

    assert feed.heard is not None  # another instance's push
    await feed.heard({"pushed": clock.now() + timedelta(seconds=60)})
    assert revoked.known("pushed")


async def test_a_burst_of_revocations_keeps_the_live_ones_and_drops_the_lapsed() -> None:
    clock = MemoryClock()
    revoked = RevokedSessions(LoneRevocationFeed(), clock, TTL_S)
    await revoked.revoke([f"old{n}" for n in range(300)])
    clock.advance(TTL_S + CLOCK_SKEW_S)  # all of those lapsed
    for n in range(600):
        await revoked.revoke([f"new{n}"])
    assert all(revoked.known(f"new{n}") for n in range(600))
    assert not revoked.known("old0")
    assert len(revoked._until) < 900  # the lapsed were dropped on the way
