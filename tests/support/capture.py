"""A local HTTP endpoint standing in for Rollbar and Logtail (Better Stack), for the real SDKs.

- `POST <url>/api/1/item/` is Rollbar's item API (point `ROLLBAR_ENDPOINT` at
  `rollbar_endpoint`): each JSON payload is kept in `items`.
- `POST <url>/` is Logtail's ingestion (point `LOGTAIL_HOST` at `logtail_host`): each msgpack
  batch is decoded into `records`, and its size kept in `batch_bytes`.

`mode` decides the answer: "ok" (200/202), "hang" (read the request, never answer until the
server stops) or an HTTP status to answer with (429, 500...). For a refused connection, point
an SDK at `refusing_url()`: a loopback port nobody listens on.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import msgpack

LOOPBACK = "127.0.0.1"


def refusing_url() -> str:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port = sock.getsockname()[1]
    return f"http://{LOOPBACK}:{port}"  # closed again: connections are refused


class CaptureServer:
    def __init__(self, mode: str | int = "ok") -> None:
        self.mode: str | int = mode
        self.items: list[dict[str, Any]] = []
        self.raw_items: list[bytes] = []
        self.records: list[dict[str, Any]] = []
        self.batch_bytes: list[int] = []
        self.requests = 0
        self.hanging = 0
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="capture-server", daemon=True
        )

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def rollbar_endpoint(self) -> str:
        return f"{self.url}/api/1/"

    @property
    def logtail_host(self) -> str:
        return self.url

    def clear(self) -> None:
        with self._lock:
            self.items.clear()
            self.raw_items.clear()
            self.records.clear()
            self.batch_bytes.clear()
            self.requests = 0

    def wait_for(self, ready: Callable[[], bool], timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while not ready():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _keep(self, path: str, body: bytes) -> None:
        with self._lock:
            self.requests += 1
            if path.rstrip("/").endswith("/item"):
                self.raw_items.append(body)
                self.items.append(json.loads(body))
            else:
                self.batch_bytes.append(len(body))
                self.records.extend(msgpack.unpackb(body, raw=False))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        capture = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                mode = capture.mode
                if mode == "hang":
                    with capture._lock:
                        capture.hanging += 1
                    capture._release.wait()
                    self.close_connection = True
                    return
                if isinstance(mode, int):
                    self._answer(mode, b'{"err": 1, "message": "refused by the capture server"}')
                    return
                capture._keep(self.path, body)
                if self.path.rstrip("/").endswith("/item"):
                    self._answer(200, b'{"err": 0, "result": {"id": null, "uuid": "captured"}}')
                else:
                    self._answer(202, b"")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None  # quiet

        return Handler
