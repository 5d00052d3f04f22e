from __future__ import annotations

from typing import Protocol

from domain.files.model import ThumbnailImage, ThumbnailSpec


class ImageThumbnailer(Protocol):
    """Derived images of an uploaded image, made off the event loop and bounded.

    Whatever the bytes are (truncated, hostile, not an image at all), `thumbnails` returns
    what it could make, often nothing, and never raises for them: a bad image must not fail
    its upload. Every image it returns has its EXIF orientation applied and carries no
    metadata (no EXIF, GPS included, no XMP, no ICC profile, no comments)."""

    async def thumbnails(
        self, data: bytes, specs: tuple[ThumbnailSpec, ...]
    ) -> list[ThumbnailImage]: ...
