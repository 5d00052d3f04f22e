"""Connection-level bounds that uvicorn's httptools protocol lacks: the request head (the
request line and headers) is limited in size and count and must arrive within a deadline.

httptools parses headers of any size (one header of 100 MiB streams through), and a connection
that sends its head slowly, or nothing at all, holds a file descriptor for as long as it likes.
uvicorn offers no public hook for either (its `h11_max_incomplete_event_size` is for h11 only),
so this subclass counts the head's bytes as they arrive (`data_received`) and as httptools
parses them (`on_url`, `on_header`); the attack tests in tests/api/test_slow_clients.py fail if
an upgrade of uvicorn changes what they rely on.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 32 * 1024  # request line plus headers: far above any browser's (8-16 KiB)
MAX_HEADERS = 100
HEAD_DEADLINE_S = 10.0  # from connection (or the last response) to the head's end


class HeadTooLarge(Exception):
    pass


def _response(status: bytes, code: str, message: str) -> bytes:
    body = f'{{"error": {{"code": "{code}", "message": "{message}", "request_id": ""}}}}'.encode()
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )


HEAD_TOO_LARGE = _response(
    b"431 Request Header Fields Too Large",
    "headers_too_large",
    "The request headers are too large.",
)
HEAD_TOO_SLOW = _response(
    b"408 Request Timeout", "request_timeout", "The request took too long to arrive."
)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._awaiting_head = True
        self._head_bytes = 0
        self._headers = 0
        self._parsed_bytes = 0
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # httptools reports a header only once it is whole: count the bytes as they come.
        if self._awaiting_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._awaiting_head and self._head_bytes > MAX_HEAD_BYTES:
            self._refuse(HEAD_TOO_LARGE)

    def send_400_response(self, msg: str) -> None:
        # httptools wraps an exception raised in a callback; ours means "too large", not "bad".
        error = _current_parser_error()
        if isinstance(error, HeadTooLarge):
            self._refuse(HEAD_TOO_LARGE)
            return
        super().send_400_response(msg)

    def on_message_begin(self) -> None:
        self._headers = 0
        self._parsed_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        # a head that came in one piece is measured here, header by header
        self._headers += 1
        self._count(len(name) + len(value) + 4)
        if self._headers > MAX_HEADERS:
            raise HeadTooLarge
        super().on_header(name, value)

    def _count(self, size: int) -> None:
        self._parsed_bytes += size
        if self._parsed_bytes > MAX_HEAD_BYTES:
            raise HeadTooLarge

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._cancel_head_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.pipeline and not self.transport.is_closing():
            self._awaiting_head = True
            self._head_bytes = 0
            self._arm_head_deadline()

    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self._head_deadline = self.loop.call_later(HEAD_DEADLINE_S, self._head_too_slow)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self.cycle is None or self.cycle.response_complete:
            self._refuse(HEAD_TOO_SLOW)

    def _refuse(self, response: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(response)
            self.transport.close()


def _current_parser_error() -> BaseException | None:
    """The exception being handled, unwrapped from httptools' HttpParserCallbackError."""
    error = sys.exc_info()[1]
    if isinstance(error, httptools.HttpParserCallbackError):
        return error.__context__
    return error
