"""The client's address, as the one proxy in front of the server reports it.

Per-address limits are only as good as the address: a header anyone can send is no address.
`TRUSTED_PROXY` names the proxy that is actually in front, and only its header is read:

- `fly`: Fly's proxy sets `Fly-Client-IP` to the address it accepted the connection from,
  replacing any a client sent; the app's port is reachable only through that proxy.
- `render`: Render's proxy appends the address it accepted from to `X-Forwarded-For`, so the
  rightmost entry is the one it vouches for; entries to its left are the client's own words.
- `none` (the default): the peer of the TCP connection, headers ignored.

The address replaces `scope["client"]`, which Quart (`request.remote_addr`), the load shedder
and the Socket.IO connect (from `environ["asgi.scope"]`: python-engineio's own `REMOTE_ADDR`
is not it) all read, so every layer sees the same one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal

type TrustedProxy = Literal["none", "fly", "render"]
type Scope = MutableMapping[str, Any]
type ASGIApp = Callable[..., Awaitable[None]]


class ClientAddress:
    def __init__(self, app: ASGIApp, proxy: TrustedProxy) -> None:
        self.app = app
        self.proxy = proxy

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if self.proxy != "none" and scope["type"] in ("http", "websocket"):
            address = client_address(self.proxy, scope.get("headers") or [])
            if address is not None:
                port = scope["client"][1] if scope.get("client") else 0
                scope["client"] = (address, port)
        await self.app(scope, receive, send)


def client_address(proxy: TrustedProxy, headers: list[tuple[bytes, bytes]]) -> str | None:
    """The address `proxy` reports in `headers`; None when it reports none (or garbage), and
    always without a trusted proxy."""
    if proxy == "none":
        return None
    wanted = b"fly-client-ip" if proxy == "fly" else b"x-forwarded-for"
    values = [value for name, value in headers if name == wanted]
    if not values:
        return None
    # several X-Forwarded-For lines read as one list, in order; the proxy's entry is last
    raw = values[0] if proxy == "fly" else b",".join(values).rsplit(b",", 1)[-1]
    try:
        return str(ipaddress.ip_address(raw.decode("latin-1").strip()))
    except ValueError:
        return None
