"""Request bodies read as streams: uploads are never buffered whole.

Quart queues every body chunk the server hands it in an unbounded queue, and applies the
app-wide `MAX_CONTENT_LENGTH` (the JSON limit) to every route. Upload routes therefore get a
`StreamedBody` instead: no app-wide limit (each route enforces its own while the bytes come
in), and backpressure: once `HIGH_WATER` bytes wait unread, Quart stops taking messages from
the server, the server stops reading the socket and TCP slows the client down. When the handler
is done (`release`, also at teardown), whatever is still coming is discarded unread.

`MultipartStream` decodes multipart/form-data as it arrives (Werkzeug's sans-io decoder): the
form fields before the file, then the file's bytes as an async iterator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from quart import Request
from quart.wrappers.request import Body
from werkzeug.exceptions import BadRequest, UnsupportedMediaType
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import (
    Data,
    Epilogue,
    Field,
    File,
    MultipartDecoder,
    NeedData,
    Preamble,
)

from domain.files.errors import PayloadTooLarge

HIGH_WATER = 256 * 1024
DECODER_BUFFER = 1024 * 1024
FIELD_MAX = 8 * 1024
PARTS_MAX = 50
MULTIPART_OVERHEAD = 64 * 1024  # form fields, part headers and boundaries around the file


class StreamedBody(Body):
    def __init__(self, expected_content_length: int | None) -> None:
        super().__init__(expected_content_length, None)
        self._queued = 0
        self._room = asyncio.Event()
        self._room.set()
        self._released = False

    async def put(self, data: bytes) -> None:
        while self._queued >= HIGH_WATER and not self._released:
            self._room.clear()
            await self._room.wait()
        if self._released:
            return
        self._queued += len(data)
        await super().put(data)

    async def get(self) -> bytes:
        data = await super().get()
        self._queued -= len(data)
        if self._queued < HIGH_WATER:
            self._room.set()
        return data

    def release(self) -> None:
        """The handler reads no more: discard what is queued and whatever still comes."""
        self._released = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queued = 0
        self._room.set()


def release(request: Request) -> None:
    if isinstance(request.body, StreamedBody):
        request.body.release()


class BadMultipart(BadRequest):
    description = "The multipart body is malformed or incomplete."


@dataclass(frozen=True, slots=True)
class FilePart:
    field: str
    filename: str
    content_type: str | None


class MultipartStream:
    """multipart/form-data decoded while it streams in, at most `max_bytes` of it."""

    def __init__(self, body: AsyncIterable[bytes], content_type: str, max_bytes: int) -> None:
        mimetype, options = parse_options_header(content_type)
        boundary = options.get("boundary", "")
        if mimetype != "multipart/form-data" or not boundary:
            raise UnsupportedMediaType("Send the file as multipart/form-data.")
        self._decoder = MultipartDecoder(
            boundary.encode("latin-1"), DECODER_BUFFER, max_parts=PARTS_MAX
        )
        self._body = aiter(body)
        self._max_bytes = max_bytes
        self._received = 0
        self._ended = False

    async def _next(self) -> Field | File | Data | Epilogue | Preamble:
        while True:
            try:
                event = self._decoder.next_event()
            except ValueError as error:
                raise BadMultipart() from error
            if not isinstance(event, NeedData):
                return event  # type: ignore[return-value]
            if self._ended:
                raise BadMultipart()
            chunk = await anext(self._body, None)
            if chunk is None:
                self._ended = True
                self._decoder.receive_data(None)
                continue
            self._received += len(chunk)
            if self._received > self._max_bytes:
                raise PayloadTooLarge()
            self._decoder.receive_data(chunk)

    async def fields_until_file(self, file_field: str) -> tuple[dict[str, str], FilePart | None]:
        """The text fields before the part named `file_field`, and that part's headers
        (None when the form has no such file). Other files are skipped unread."""
        fields: dict[str, str] = {}
        while True:
            event = await self._next()
            if isinstance(event, Epilogue):
                return fields, None
            if isinstance(event, File):
                if event.name == file_field:
                    content_type = event.headers.get("Content-Type")
                    return fields, FilePart(event.name, event.filename, content_type)
                async for _ in self.part_data():
                    pass
            elif isinstance(event, Field):
                value = bytearray()
                async for chunk in self.part_data():
                    value += chunk
                    if len(value) > FIELD_MAX:
                        raise BadMultipart("A form field is too long.")
                fields[event.name] = value.decode("utf-8", "replace")

    async def part_data(self) -> AsyncIterator[bytes]:
        """The bytes of the current part, as they arrive."""
        while True:
            event = await self._next()
            if not isinstance(event, Data):
                raise BadMultipart()
            if event.data:
                yield event.data
            if not event.more_data:
                return
