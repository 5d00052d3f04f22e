"""The per-instance Socket.IO caps (entrypoints/realtime/runtime.py `SocketLimits`): sockets per
user and per address, counted in and out exactly once, and each socket's event budget per
10-second window. tests/integration/test_socket_attacks.py performs the attacks on a server."""

from __future__ import annotations

import pytest

from adapters.memory.clock import MemoryClock
from entrypoints.realtime.runtime import EVENT_WINDOW_S, SocketLimits

pytestmark = pytest.mark.unit


def limits(clock: MemoryClock | None = None) -> SocketLimits:
    return SocketLimits(per_user=2, per_ip=3, events_per_window=5, clock=clock or MemoryClock())


def test_a_user_past_the_cap_is_refused_until_a_socket_is_released() -> None:
    caps = limits()
    assert caps.admit("a", "ada", "1.1.1.1")
    assert caps.admit("b", "ada", "1.1.1.2")
    assert not caps.admit("c", "ada", "1.1.1.3")
    assert caps.admit("d", "bob", "1.1.1.3")  # another user
    caps.release("a")
    caps.release("a")  # a second release counts nothing out
    assert caps.user_sockets("ada") == 1
    assert caps.admit("c", "ada", "1.1.1.3")
    assert not caps.admit("e", "ada", "1.1.1.4")


def test_an_address_past_the_cap_is_refused_whoever_connects() -> None:
    caps = limits()
    for n in range(3):
        assert caps.admit(f"s{n}", f"user{n}", "2.2.2.2")
    assert not caps.admit("s3", "user3", "2.2.2.2")
    assert caps.admit("s3", "user3", "2.2.2.3")
    assert caps.user_sockets("user3") == 1  # the refused attempt counted nothing
    for n in range(4):
        caps.release(f"s{n}")
    assert caps.ip_sockets("2.2.2.2") == 0
    assert caps.ip_sockets("2.2.2.3") == 0
    assert caps.user_sockets("user0") == 0


def test_the_event_past_the_budget_is_refused_and_the_socket_closed_once() -> None:
    clock = MemoryClock()
    caps = limits(clock)
    assert all(caps.spend("s") for _ in range(5))
    assert not caps.spend("s")
    assert caps.closing("s")
    assert not caps.closing("s")  # disconnected once, however many events still arrive
    clock.advance(EVENT_WINDOW_S)
    assert not caps.spend("s")  # on its way out: no fresh window
    assert caps.spend("other")  # other sockets have their own budget
    caps.release("s")
    assert caps.spend("s")  # a new socket of that sid (never, in practice) starts afresh


def test_the_budget_renews_each_window() -> None:
    clock = MemoryClock()
    caps = limits(clock)
    for _ in range(3):
        assert all(caps.spend("s") for _ in range(5))
        clock.advance(EVENT_WINDOW_S)
    assert not caps.closing("s")
