"""Thumbnails with Pillow, off the event loop and bounded (README "Files", Thumbnails).

Uploaded images are hostile until proven otherwise: the bytes are opened only as PNG, JPEG,
GIF or WebP; an image whose header declares more than `max_pixels` is refused before any
pixel is decoded (Pillow's own decompression-bomb limit stays in force above that); only the
first frame of an animation is decoded; a JPEG is decoded at the smallest DCT scale that
still covers the largest size (`draft`), which keeps a 12 MP photo's memory to a fraction of
its full decode. At most `max_concurrent` images are worked on at once, in a pool of that
many threads, so the pool's size bounds the memory in use even when a caller gives up after
`timeout_s` (a decode cannot be interrupted: its thread finishes, then frees its slot).

Every derived image is built from raw pixels into a fresh image before it is encoded, so
nothing of the source's metadata (EXIF with GPS, XMP, ICC profile, comments) can travel into
it; the EXIF orientation is applied to the pixels first.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from domain.files.model import ThumbnailFit, ThumbnailImage, ThumbnailSpec

if TYPE_CHECKING:
    from PIL.Image import Image as PillowImage

log = logging.getLogger("flowhub.files.thumbnails")

FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
WEBP_QUALITY = 80
WEBP_METHOD = 4  # libwebp's speed/size trade-off: its default


class ThumbnailTimeout(Exception):
    """The work passed its deadline between two steps."""


class PillowThumbnailer:
    def __init__(
        self, *, max_pixels: int = 25_000_000, timeout_s: float = 10.0, max_concurrent: int = 1
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        if max_pixels < 1:
            raise ValueError("max_pixels must be at least 1")
        self.max_pixels = max_pixels
        self.timeout_s = timeout_s
        self.max_concurrent = max_concurrent
        self._slots = asyncio.Semaphore(max_concurrent)
        self._pool = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="thumbs")

    async def thumbnails(
        self, data: bytes, specs: tuple[ThumbnailSpec, ...]
    ) -> list[ThumbnailImage]:
        if not specs or not data:
            return []
        deadline = time.monotonic() + self.timeout_s
        try:
            async with asyncio.timeout(self.timeout_s):
                await self._slots.acquire()
        except TimeoutError:
            log.warning("thumbnails skipped: no free slot within %.1f s", self.timeout_s)
            return []
        try:
            future = self._pool.submit(make_thumbnails, data, specs, self.max_pixels, deadline)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(self._release_from(asyncio.get_running_loop()))
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                return await asyncio.wrap_future(future)
        except TimeoutError:
            log.warning("thumbnails skipped: not made within %.1f s", self.timeout_s)
            return []

    def close(self) -> None:
        """Stop the pool's threads (after the work already running)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _release_from(
        self, loop: asyncio.AbstractEventLoop
    ) -> Callable[[Future[list[ThumbnailImage]]], None]:
        def release(_: Future[list[ThumbnailImage]]) -> None:
            # a closed loop raises: nobody waits for the slot any more
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._slots.release)

        return release


def make_thumbnails(
    data: bytes, specs: tuple[ThumbnailSpec, ...], max_pixels: int, deadline: float
) -> list[ThumbnailImage]:
    """The blocking work (on a pool thread): what could be made, [] for a bad image."""
    try:
        return _make(data, specs, max_pixels, deadline)
    except ThumbnailTimeout:
        log.warning("thumbnails skipped: past the deadline")
    except Exception as error:  # truncated, corrupt, bomb, unsupported: never the upload's fault
        log.info("no thumbnails for an image Pillow refused: %s", type(error).__name__)
    return []


def _make(
    data: bytes, specs: tuple[ThumbnailSpec, ...], max_pixels: int, deadline: float
) -> list[ThumbnailImage]:
    # imported on the first image, on a pool thread: Pillow stays off the cold start
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data), formats=FORMATS) as image:
        width, height = image.size
        if width < 1 or height < 1 or width * height > max_pixels:
            log.info("no thumbnails for an image of %dx%d pixels", width, height)
            return []
        largest = max(spec.size for spec in specs)
        if image.format == "JPEG":
            image.draft("RGB", (largest, largest))
        image.seek(0)  # the first frame of an animation, and only it is decoded
        image.load()
        _check(deadline)
        upright = ImageOps.exif_transpose(image)
    frame = upright.convert("RGBA" if _has_alpha(upright) else "RGB")
    _check(deadline)
    made: list[ThumbnailImage] = []
    for spec in sorted(specs, key=lambda s: s.size, reverse=True):
        derived = _derive(frame, spec)
        if derived is not None:
            made.append(_encoded(derived, spec))
        _check(deadline)
    return made


def _derive(frame: PillowImage, spec: ThumbnailSpec) -> PillowImage | None:
    """The spec's image, or None when it would be an upscale."""
    from PIL import Image

    width, height = frame.size
    size = spec.size
    if spec.fit is ThumbnailFit.COVER:
        side = min(width, height)
        if side < size:
            return None
        left, top = (width - side) // 2, (height - side) // 2
        square = frame.crop((left, top, left + side, top + side))
        return square.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if max(width, height) <= size:
        return None
    fitted = frame.copy()
    fitted.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return fitted


def _encoded(derived: PillowImage, spec: ThumbnailSpec) -> ThumbnailImage:
    from PIL import Image

    # raw pixels into a new image: no `info` (EXIF, XMP, ICC, comments) survives
    clean = Image.frombytes(derived.mode, derived.size, derived.tobytes())
    out = io.BytesIO()
    clean.save(out, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    return ThumbnailImage(spec, clean.width, clean.height, out.getvalue())


def _has_alpha(image: PillowImage) -> bool:
    return image.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or (
        image.mode == "P" and "transparency" in image.info
    )


def _check(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise ThumbnailTimeout()
