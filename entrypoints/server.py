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

from typing import Any

import uvicorn

from adapters.telemetry.json_logs import install_json_logging
from config.settings import Settings


def serve(app: Any, settings: Settings, host: str = "0.0.0.0") -> None:  # noqa: S104
    uvicorn.run(
        app,
        host=host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        lifespan="on",
        proxy_headers=True,
        forwarded_allow_ips="*",
        server_header=False,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=settings.shutdown_timeout_s,
        timeout_keep_alive=30,
    )


def configure_logging(settings: Settings) -> None:
    """JSON lines on stdout, at `LOG_LEVEL` (what Fly.io and Render collect). The Logtail
    shipper joins the root logger when the app starts serving (config/lifecycle.py)."""
    install_json_logging(settings.log_level)
