"""Whose address a request has (entrypoints/client_address.py): only the trusted proxy's
header counts, read the way that proxy documents it."""

from __future__ import annotations

from typing import Any

import pytest

from entrypoints.client_address import ClientAddress, client_address

pytestmark = pytest.mark.unit

SPOOFS = [(b"x-forwarded-for", b"6.6.6.6"), (b"fly-client-ip", b"7.7.7.7")]


async def seen_client(proxy: Any, headers: list[tuple[bytes, bytes]]) -> Any:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["client"])

    scope = {"type": "http", "headers": headers, "client": ("10.1.2.3", 5555)}
    await ClientAddress(app, proxy)(scope, None, None)
    return seen[0]


async def test_without_a_trusted_proxy_headers_are_ignored() -> None:
    assert await seen_client("none", SPOOFS) == ("10.1.2.3", 5555)
    assert client_address("none", SPOOFS) is None


async def test_on_fly_only_fly_client_ip_counts() -> None:
    assert await seen_client("fly", SPOOFS) == ("7.7.7.7", 5555)
    assert await seen_client("fly", [(b"x-forwarded-for", b"6.6.6.6")]) == ("10.1.2.3", 5555)


def test_on_render_the_proxys_own_entry_is_the_rightmost() -> None:
    headers = [(b"x-forwarded-for", b"6.6.6.6, 1.2.3.4"), (b"x-forwarded-for", b"9.9.9.9")]
    assert client_address("render", headers) == "9.9.9.9"
    assert client_address("render", [(b"x-forwarded-for", b"6.6.6.6, 1.2.3.4")]) == "1.2.3.4"
    assert client_address("render", [(b"fly-client-ip", b"7.7.7.7")]) is None


def test_garbage_is_no_address() -> None:
    assert client_address("fly", [(b"fly-client-ip", b"not an address")]) is None
    assert client_address("render", [(b"x-forwarded-for", b"1.2.3.4, <script>")]) is None
    assert client_address("fly", [(b"fly-client-ip", b" 2001:db8::1 ")]) == "2001:db8::1"
