"""FileService on memory adapters and a clock the tests move."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import cast

from dependency_injector import providers

from adapters.memory.blobs import MemoryBlobStorage
from adapters.memory.clock import MemoryClock
from adapters.memory.events import MemoryEventLog
from adapters.memory.files import MemoryFileRepository
from adapters.memory.rate_limit import MemoryRateLimiter
from adapters.system.tasks import AsyncioBackgroundTasks
from config.container import build_container
from config.settings import load_settings
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
    """The app's own container on its memory adapters, with a clock the test moves."""
    container = build_container(load_settings({"APP_ENV": "test", "JWT_SECRET": SECRET}))
    clock = MemoryClock()
    adapters = container.adapters
    adapters.clock.override(providers.Object(clock))
    adapters.events.override(providers.Singleton(MemoryEventLog))
    if blobs is not None:
        adapters.blobs.override(providers.Object(blobs))
    if policy is not None:
        service = cast("providers.Singleton[FileService]", container.services.files)
        service.add_kwargs(policy=policy)
    return FilesWorld(
        container.services.files(),
        clock,
        adapters.files(),
        adapters.blobs(),
        adapters.tasks(),
        adapters.events(),
        adapters.limiter(),
    )


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
