"""FileService on memory adapters and a clock the tests move."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from adapters.memory.blobs import MemoryBlobStorage
from adapters.memory.clock import MemoryClock
from adapters.memory.events import MemoryEventLog
from adapters.memory.files import MemoryFileRepository
from adapters.memory.rate_limit import MemoryRateLimiter
from adapters.system.ids import RandomIdGenerator
from adapters.system.tasks import AsyncioBackgroundTasks
from domain.files.service import FilePolicy, FileService

SECRET = "s" * 48
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"1 0 obj\n<<>>\nendobj\n" * 50
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(500)
GIF = b"GIF89a" + bytes(100)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(100)
TEXT = "Grüße aus FlowHub ✨\n".encode() * 100
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(400)
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(400)


@dataclass
class FilesWorld:
    service: FileService
    clock: MemoryClock
    files: MemoryFileRepository
    blobs: MemoryBlobStorage
    tasks: AsyncioBackgroundTasks
    events: MemoryEventLog
    limiter: MemoryRateLimiter


def build_files_world(
    policy: FilePolicy | None = None, blobs: MemoryBlobStorage | None = None
) -> FilesWorld:
    clock = MemoryClock()
    files = MemoryFileRepository(clock)
    blobs = blobs or MemoryBlobStorage(SECRET, clock)
    tasks = AsyncioBackgroundTasks()
    events = MemoryEventLog()
    limiter = MemoryRateLimiter(clock)
    service = FileService(
        files=files,
        blobs=blobs,
        limiter=limiter,
        tasks=tasks,
        clock=clock,
        ids=RandomIdGenerator(),
        events=events,
        policy=policy,
    )
    return FilesWorld(service, clock, files, blobs, tasks, events, limiter)


async def chunks_of(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class CountingStream:
    """An endless stream that counts how much of it was pulled."""

    def __init__(self, first: bytes, chunk: bytes = b"x" * 1024) -> None:
        self.first = first
        self.chunk = chunk
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.pulled += len(self.first)
        yield self.first
        while True:
            self.pulled += len(self.chunk)
            yield self.chunk


async def collect(chunks: Iterable[bytes]) -> bytes:
    return b"".join(chunks)
