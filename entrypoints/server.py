"""How the ASGI app is served in every shape: one uvicorn process (uvloop + httptools).

Chosen by measurement (bench/foundation.py, README "Benchmarks"): uvicorn had the highest
throughput and, with hypercorn in-process, the fastest cold start and smallest RSS; granian and
hypercorn add a supervisor process (+32-38 MiB), and hypercorn always accepts per-message
deflate. One process fits a shared CPU and 512 MB; websockets run without per-message deflate
(64-316 KiB per connection otherwise). On SIGTERM uvicorn stops accepting, lets in-flight
requests finish for at most `SHUTDOWN_TIMEOUT_S`, closes websockets, then runs the lifespan
shutdown that drains background work and closes the clients.
"""

from __future__ import annotations

import contextlib
import errno
import socket
from typing import Any

import uvicorn

from adapters.telemetry.json_logs import install_json_logging
from config.settings import Settings

# Connections beyond this get uvicorn's 503 and are closed, so an attacker's connections cannot
# exhaust the process's file descriptors (the soft limit is raised to fit, see below). Fly's
# proxy sends at most `hard_limit` (fly.toml) at once; the rest is headroom for websockets.
MAX_CONNECTIONS = 2000
# An idle keep-alive connection is closed after this; a browser reopens one in a round trip.
KEEP_ALIVE_S = 5


class CannotListen(Exception):
    """The address cannot be bound; the message names the variable that picks it."""


def listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything else starts, so that a port in use is one
    sentence naming PORT (uvicorn would log its OSError after the app's start-up ran)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if error.errno == errno.EADDRINUSE:
            why = (
                f"{where} is already in use by another process: set PORT to a free port "
                f"(PORT={port + 1 if port < 65535 else 4000}) or stop the other process"
            )
        elif error.errno == errno.EACCES:
            why = f"{where} needs privileges to bind: set PORT to 1024 or above"
        else:
            why = f"cannot listen on {where} ({error.strerror}): set HOST to one of this machine"
        raise CannotListen(f"FlowHub cannot start: {why}") from None
    return sock


def serve(
    app: Any, settings: Settings, host: str | None = None, sock: socket.socket | None = None
) -> None:
    """Serve on `sock`, or on `host` (default: HOST) and PORT: `CannotListen` before anything
    has started when that address cannot be bound."""
    from entrypoints.connections import BoundedHttpToolsProtocol

    if sock is None:
        sock = listen(host or settings.host, settings.port)
    _fit_descriptor_limit(MAX_CONNECTIONS + 256)
    config = uvicorn.Config(
        app,
        host=host or settings.host,
        port=settings.port,
        loop="uvloop",
        http=BoundedHttpToolsProtocol,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        lifespan="on",
        # the client's address comes from the one trusted proxy (entrypoints/client_address.py)
        proxy_headers=False,
        server_header=False,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=settings.shutdown_timeout_s,
        timeout_keep_alive=KEEP_ALIVE_S,
        limit_concurrency=MAX_CONNECTIONS,
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it: Ctrl-C then ends here, as in uvicorn.run
    with sock, contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
    if not server.started:  # the lifespan start-up failed (and said why)
        raise SystemExit(3)  # uvicorn's STARTUP_FAILURE, as uvicorn.run exits


def _fit_descriptor_limit(wanted: int) -> None:
    """Raise the soft limit on open files towards `wanted` (never above the hard limit)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def configure_logging(settings: Settings) -> None:
    """JSON lines on stdout, at `LOG_LEVEL` (what Fly.io and Render collect). The Logtail
    shipper joins the root logger when the app starts serving (config/lifecycle.py)."""
    install_json_logging(settings.log_level)
