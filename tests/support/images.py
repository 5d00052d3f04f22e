"""Real and hostile images made with Pillow for the thumbnail tests."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image

GPS_LATITUDE = (48.0, 51.0, 29.0)
COMMENT = b"secret-comment-7f3a"


def png(width: int, height: int, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def encoded(image: Image.Image, kind: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def halves(width: int, height: int) -> Image.Image:
    """Left half red, right half blue."""
    image = Image.new("RGB", (width, height), (220, 0, 0))
    image.paste((0, 0, 220), (width // 2, 0, width, height))
    return image


def jpeg_with_gps_rotated(width: int = 800, height: int = 400) -> bytes:
    """A JPEG whose pixels are `halves` and whose EXIF says "rotate 90° clockwise to show"
    (orientation 6) and where it was taken (GPS), with a comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "FlowHubCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 17.0, 40.0)
    return encoded(halves(width, height), "JPEG", exif=exif.tobytes(), comment=COMMENT, quality=95)


def animated_gif(frames: int, size: int = 300) -> bytes:
    """First frame red, every other one blue."""
    first = Image.new("RGB", (size, size), (220, 0, 0))
    rest = [Image.new("RGB", (size, size), (0, 0, 220)) for _ in range(frames - 1)]
    return encoded(first, "GIF", save_all=True, append_images=rest, duration=20, loop=0)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG signature and IHDR declaring `width` x `height` (8-bit greyscale)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + idat


def png_bomb(width: int, height: int) -> bytes:
    """A complete, valid greyscale PNG of zeros: kilobytes that decode to width*height bytes
    (compressed row by row, never held whole)."""
    packer = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte 0, then the row
    data = bytearray()
    for _ in range(height):
        data += packer.compress(row)
    data += packer.flush()
    return png_header(width, height, _chunk(b"IDAT", bytes(data)) + _chunk(b"IEND", b""))


def gif_screen_bomb(width: int = 65535, height: int = 65535) -> bytes:
    """A tiny animated GIF whose logical screen declares `width` x `height`."""
    frames = animated_gif(3, size=4)
    return frames[:6] + struct.pack("<HH", width, height) + frames[10:]
