"""Slow and oversized clients against the real server process (RELIABILITY.md, "Security"):
slow request bodies, huge or countless headers, heads that never finish, one client holding
the places. Each test performs the attack on 127.0.0.x only, bounded in count and time.

Attackers connect from their own loopback addresses (127.0.0.2 and up: Linux routes all of
127.0.0.0/8 to lo), so the server tells them apart from the honest client on 127.0.0.1 as it
tells clients apart behind the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import socket
import time
from collections.abc import Iterator

import pytest

from entrypoints.connections import HEAD_DEADLINE_S, MAX_HEAD_BYTES, MAX_HEADERS
from tests.support.processes import ServerProcess, running_server

pytestmark = pytest.mark.api


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with running_server(env={"APP_ENV": "development", "MAX_IN_FLIGHT_REQUESTS": "64"}) as s:
        yield s


def raw_request(port: int, head: bytes, timeout: float = 10.0) -> bytes:
    """Sends `head` (and nothing else) and reads the answer until the server closes or stops."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and b"connection: close" not in chunks[0]:
                    break
        except (ConnectionResetError, TimeoutError):
            pass
        return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def test_a_header_beyond_the_head_limit_is_refused_with_431(server: ServerProcess) -> None:
    big = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEAD_BYTES + 1) + b"\r\n\r\n"
    answer = raw_request(server.port, big)
    assert status_of(answer) == 431
    assert b'"headers_too_large"' in answer
    # what fits is served
    fits = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 16_000 + b"\r\n\r\n"
    assert status_of(raw_request(server.port, fits)) == 200


def test_too_many_headers_are_refused_with_431(server: ServerProcess) -> None:
    many = b"".join(b"X-H%d: 1\r\n" % i for i in range(MAX_HEADERS + 1))
    answer = raw_request(server.port, b"GET /health HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert status_of(answer) == 431


def test_a_header_that_never_ends_is_refused_before_it_ends(server: ServerProcess) -> None:
    """The server answers once the head passes the limit, without waiting for the header's end
    (which never comes: httptools alone would buffer it for as long as it streams)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(128):  # 2 MiB of one header, and no end to it
                sock.sendall(b"a" * 16384)
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            answer = sock.recv(65536)
    assert status_of(answer) == 431


def test_idle_and_half_sent_connections_are_closed_after_the_head_deadline(
    server: ServerProcess,
) -> None:
    idle = socket.create_connection(("127.0.0.1", server.port))
    half = socket.create_connection(("127.0.0.1", server.port))
    started = time.monotonic()
    try:
        half.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        for sock in (idle, half):
            sock.settimeout(HEAD_DEADLINE_S + 10)
            while sock.recv(65536):  # until the server closes
                pass
        assert time.monotonic() - started < HEAD_DEADLINE_S + 5
    finally:
        idle.close()
        half.close()


async def trickle_body(port: int, source: str, stop: asyncio.Event) -> int:
    """A JSON POST whose body comes one byte every 2 s; the status the server answered, or 0."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        writer.write(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200\r\n\r\n{"
        )
        await writer.drain()
        read = asyncio.create_task(reader.read(4096))
        while not read.done() and not stop.is_set():
            await asyncio.wait([read], timeout=2.0)
            if not read.done():
                writer.write(b" ")
                await writer.drain()
        if not read.done():
            read.cancel()
            return 0
        return status_of(read.result())
    except (ConnectionResetError, BrokenPipeError):
        return 0
    finally:
        writer.close()


async def honest_request(port: int, n: int = 0) -> tuple[int, float]:
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps({"email": f"nobody{n}@example.com", "password": "wrong password"}).encode()
    writer.write(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return status_of(answer), time.monotonic() - started


def test_seventy_slow_bodies_from_many_addresses_hold_no_place(server: ServerProcess) -> None:
    async def attack() -> tuple[list[tuple[int, float]], list[int]]:
        stop = asyncio.Event()
        slow = [
            asyncio.create_task(trickle_body(server.port, f"127.0.0.{2 + i}", stop))
            for i in range(70)
        ]
        await asyncio.sleep(1.0)  # every slow body has started and waits for its rest
        honest = [await honest_request(server.port, n) for n in range(10)]
        refused = await asyncio.wait_for(asyncio.gather(*slow), timeout=30)
        stop.set()
        return honest, refused

    honest, refused = asyncio.run(attack())
    assert [status for status, _ in honest] == [401] * 10, honest
    assert max(elapsed for _, elapsed in honest) < 1.0, honest
    # each slow body is answered 408 once its deadline passes, instead of holding on
    assert refused == [408] * 70


def test_one_address_holds_at_most_its_share_of_the_places(server: ServerProcess) -> None:
    """A quarter of the places (16 of 64): its 17th concurrent request is refused at once."""

    async def flood() -> tuple[list[int], tuple[int, float]]:
        stop = asyncio.Event()
        mine = [
            asyncio.create_task(trickle_body(server.port, "127.0.1.1", stop)) for _ in range(20)
        ]
        await asyncio.sleep(1.0)
        honest = await honest_request(server.port, 99)
        statuses = await asyncio.wait_for(asyncio.gather(*mine), timeout=30)
        return statuses, honest

    statuses, honest = asyncio.run(flood())
    assert sorted(statuses).count(503) == 4, statuses
    assert statuses.count(408) == 16
    assert honest[0] == 401


def test_http_client_still_served_after_the_attacks(server: ServerProcess) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/health")
    assert conn.getresponse().status == 200
    conn.close()


def signup_status(port: int, n: int, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps(
        {"email": f"spoof{n}@example.com", "password": "correct horse battery", "name": "S"}
    )
    conn.request(
        "POST", "/api/v1/auth/signup", body, {"Content-Type": "application/json", **headers}
    )
    status = conn.getresponse().status
    conn.close()
    return status


def test_a_spoofed_client_address_header_does_not_escape_the_per_address_limit() -> None:
    """Signups are limited per address (20 an hour); rotating Fly-Client-IP or X-Forwarded-For
    made every request a new address. Without a trusted proxy both are ignored."""
    with running_server(env={"APP_ENV": "development", "TRUSTED_PROXY": "none"}) as s:
        statuses = [
            signup_status(
                s.port, n, {"Fly-Client-IP": f"203.0.113.{n}", "X-Forwarded-For": f"198.51.100.{n}"}
            )
            for n in range(21)
        ]
    assert statuses == [202] * 20 + [429]


def test_behind_fly_the_proxys_header_is_the_address_and_x_forwarded_for_is_not() -> None:
    with running_server(env={"APP_ENV": "development", "TRUSTED_PROXY": "fly"}) as s:
        spoofed = [
            signup_status(
                s.port, n, {"Fly-Client-IP": "203.0.113.9", "X-Forwarded-For": f"1.1.1.{n}"}
            )
            for n in range(21)
        ]
        other = signup_status(s.port, 99, {"Fly-Client-IP": "203.0.113.10"})
    assert spoofed == [202] * 20 + [429]
    assert other == 202
