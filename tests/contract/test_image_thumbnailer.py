"""The ImageThumbnailer contract on real Pillow: each format and EXIF orientation (1-8) right, every
derived image without metadata, hostile images refused without raising, work bounded."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable

import pytest
from PIL import ExifTags, Image

from adapters.pillow.thumbnails import PillowThumbnailer, make_thumbnails
from domain.files.model import THUMBNAIL_SPECS, ThumbnailFit, ThumbnailImage
from tests.support.images import (
    COMMENT,
    animated_gif,
    encoded,
    gif_screen_bomb,
    halves,
    jpeg_with_gps_rotated,
    png,
    png_bomb,
    png_header,
)

pytestmark = pytest.mark.contract


@pytest.fixture
def thumbnailer() -> PillowThumbnailer:
    return PillowThumbnailer(max_pixels=25_000_000, timeout_s=30.0, max_concurrent=1)


def opened(thumb: ThumbnailImage) -> Image.Image:
    image = Image.open(io.BytesIO(thumb.data))
    assert image.format == "WEBP"
    assert image.size == (thumb.width, thumb.height)
    return image


def by_size(thumbs: list[ThumbnailImage]) -> dict[int, ThumbnailImage]:
    return {t.spec.size: t for t in thumbs}


def assert_no_metadata(thumb: ThumbnailImage) -> None:
    image = opened(thumb)
    assert not image.getexif()
    assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)
    assert b"Exif" not in thumb.data
    assert b"XMP" not in thumb.data
    assert b"ICCP" not in thumb.data


@pytest.mark.parametrize(
    ("kind", "mode"),
    [("PNG", "RGB"), ("PNG", "RGBA"), ("PNG", "P"), ("JPEG", "RGB"), ("JPEG", "CMYK"),
     ("GIF", "P"), ("WEBP", "RGB"), ("WEBP", "RGBA")],
)  # fmt: skip
async def test_every_format_gets_every_size_in_its_proportions(
    thumbnailer: PillowThumbnailer, kind: str, mode: str
) -> None:
    source = halves(1600, 1200).convert(mode)
    thumbs = by_size(await thumbnailer.thumbnails(encoded(source, kind), THUMBNAIL_SPECS))

    assert sorted(thumbs) == [64, 256, 1024]
    assert (thumbs[64].width, thumbs[64].height, thumbs[64].spec.fit) == (
        64,
        64,
        ThumbnailFit.COVER,
    )
    assert (thumbs[256].width, thumbs[256].height) == (256, 192)
    assert (thumbs[1024].width, thumbs[1024].height) == (1024, 768)
    for thumb in thumbs.values():
        assert_no_metadata(thumb)
        rgb = opened(thumb).convert("RGB")
        left = rgb.getpixel((2, rgb.height // 2))
        right = rgb.getpixel((rgb.width - 3, rgb.height // 2))
        assert isinstance(left, tuple)
        assert isinstance(right, tuple)
        assert left[0] > 150 > left[2], "the left half stays red"
        assert right[2] > 150 > right[0], "the right half stays blue"


async def test_alpha_is_kept_and_opaque_images_have_none(thumbnailer: PillowThumbnailer) -> None:
    clear = Image.new("RGBA", (500, 500), (0, 0, 0, 0))
    thumbs = await thumbnailer.thumbnails(encoded(clear, "PNG"), THUMBNAIL_SPECS)
    assert {opened(t).mode for t in thumbs} == {"RGBA"}
    assert all(opened(t).getpixel((10, 10)) == (0, 0, 0, 0) for t in thumbs)
    opaque = await thumbnailer.thumbnails(png(500, 500), THUMBNAIL_SPECS)
    assert {opened(t).mode for t in opaque} == {"RGB"}


async def test_exif_orientation_is_applied_and_gps_and_comments_are_gone(
    thumbnailer: PillowThumbnailer,
) -> None:
    source = jpeg_with_gps_rotated(800, 400)
    original = Image.open(io.BytesIO(source))
    assert original.getexif().get_ifd(0x8825), "the source does carry GPS"
    assert COMMENT in source

    thumbs = by_size(await thumbnailer.thumbnails(source, THUMBNAIL_SPECS))

    assert sorted(thumbs) == [64, 256]  # 400 x 800 once upright: no 1024
    portrait = opened(thumbs[256]).convert("RGB")
    assert portrait.size == (128, 256), "orientation 6: shown rotated, portrait"
    top, bottom = portrait.getpixel((64, 5)), portrait.getpixel((64, 250))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert top[0] > 150 > top[2], "the stored left (red) is shown on top"
    assert bottom[2] > 150 > bottom[0]
    for thumb in thumbs.values():
        assert_no_metadata(thumb)
        assert COMMENT not in thumb.data
        assert b"FlowHubCam" not in thumb.data


# What a viewer does to the stored pixels to show an image of each EXIF orientation (Pillow's
# own table, ImageOps.exif_transpose), and its inverse: what a camera stored for an upright
# picture. 2, 3, 4, 5 and 7 undo themselves; 6 and 8 undo each other.
SHOWN = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
STORED = {**SHOWN, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
QUADRANTS = {"top left": (220, 0, 0), "top right": (0, 200, 0),
             "bottom left": (0, 0, 220), "bottom right": (230, 230, 0)}  # fmt: skip


def quadrants(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height))
    w, h = width // 2, height // 2
    for name, color in QUADRANTS.items():
        x = w if "right" in name else 0
        y = h if "bottom" in name else 0
        image.paste(color, (x, y, x + w, y + h))
    return image


def near(pixel: object, color: tuple[int, int, int]) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(int(a) - b) < 60 for a, b in zip(pixel[:3], color, strict=True))


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
async def test_every_exif_orientation_of_every_format_that_carries_one_is_shown_upright(
    thumbnailer: PillowThumbnailer, kind: str, orientation: int
) -> None:
    upright = quadrants(600, 300)
    stored = upright if orientation == 1 else upright.transpose(STORED[orientation])
    if orientation > 1:  # the table is right: shown, the stored pixels are the upright picture
        assert stored.transpose(SHOWN[orientation]).tobytes() == upright.tobytes()
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    source = encoded(stored, kind, exif=exif.tobytes())
    assert Image.open(io.BytesIO(source)).getexif().get(ExifTags.Base.Orientation) == orientation

    thumbs = by_size(await thumbnailer.thumbnails(source, THUMBNAIL_SPECS))

    box = opened(thumbs[256]).convert("RGB")
    assert box.size == (256, 128), "landscape once upright, whatever was stored"
    w, h = box.size
    for name, color in QUADRANTS.items():
        x = w * 3 // 4 if "right" in name else w // 4
        y = h * 3 // 4 if "bottom" in name else h // 4
        assert near(box.getpixel((x, y)), color), (name, box.getpixel((x, y)))
    for thumb in thumbs.values():
        assert_no_metadata(thumb)  # the orientation tag too: the pixels are upright now


async def test_small_images_are_never_upscaled(thumbnailer: PillowThumbnailer) -> None:
    assert await thumbnailer.thumbnails(png(60, 40), THUMBNAIL_SPECS) == []
    only_square = await thumbnailer.thumbnails(png(200, 100), THUMBNAIL_SPECS)
    assert [t.spec.size for t in only_square] == [64]
    assert [t.spec.size for t in await thumbnailer.thumbnails(png(300, 50), THUMBNAIL_SPECS)] == [
        256
    ]


async def test_only_the_first_frame_of_an_animation_is_used(
    thumbnailer: PillowThumbnailer,
) -> None:
    for source in (animated_gif(200), encoded_webp_animation()):
        thumbs = await thumbnailer.thumbnails(source, THUMBNAIL_SPECS)
        assert [t.spec.size for t in thumbs] == [256, 64]
        for thumb in thumbs:
            image = opened(thumb)
            assert getattr(image, "n_frames", 1) == 1
            pixel = image.convert("RGB").getpixel((10, 10))
            assert isinstance(pixel, tuple)
            assert pixel[0] > 150 > pixel[2], "the red first frame"


def encoded_webp_animation() -> bytes:
    frames = [Image.new("RGB", (300, 300), c) for c in [(220, 0, 0), (0, 0, 220), (0, 0, 220)]]
    return encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=20)


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


HOSTILE: dict[str, Callable[[], bytes]] = {
    "truncated PNG": lambda: truncated(encoded(halves(800, 600), "PNG", compress_level=0)),
    "truncated JPEG": lambda: truncated(encoded(halves(800, 600), "JPEG")),
    "truncated GIF": lambda: truncated(animated_gif(5)),
    "truncated WebP": lambda: truncated(encoded(halves(800, 600), "WEBP")),
    "a PNG header declaring 100000 x 100000": lambda: png_header(100_000, 100_000),
    "a PNG bomb beyond Pillow's own limit (10000 x 10000)": lambda: png_bomb(10_000, 10_000),
    "a PNG bomb beyond the pixel cap (6000 x 6000)": lambda: png_bomb(6000, 6000),
    "an animated GIF declaring a 65535 x 65535 screen": gif_screen_bomb,
    "no image at all": lambda: b"%PDF-1.7\n" + bytes(1000),
    "a format outside the four (BMP)": lambda: encoded(halves(300, 300), "BMP"),
    "only a signature": lambda: b"\x89PNG\r\n\x1a\n",
}


@pytest.mark.parametrize("name", HOSTILE)
async def test_hostile_and_broken_images_give_nothing_and_never_raise(
    thumbnailer: PillowThumbnailer, name: str
) -> None:
    assert await thumbnailer.thumbnails(HOSTILE[name](), THUMBNAIL_SPECS) == []


async def test_the_pixel_cap_is_checked_on_the_header_before_decoding() -> None:
    """A 6000 x 6000 bomb decodes fine under a cap it fits (so it is a real image), and is
    refused under the default cap without being decoded (it takes no time)."""
    bomb = png_bomb(6000, 6000)
    roomy = PillowThumbnailer(max_pixels=40_000_000, timeout_s=60.0)
    assert [t.spec.size for t in await roomy.thumbnails(bomb, THUMBNAIL_SPECS)] == [1024, 256, 64]
    assert make_thumbnails(bomb, THUMBNAIL_SPECS, 35_999_999, time.monotonic() + 60) == []


async def test_work_past_the_deadline_is_given_up() -> None:
    source = encoded(halves(2000, 1500), "PNG")
    assert make_thumbnails(source, THUMBNAIL_SPECS, 25_000_000, time.monotonic() - 1) == []
    slow = PillowThumbnailer(timeout_s=0.000_001)
    assert await slow.thumbnails(source, THUMBNAIL_SPECS) == []


async def test_at_most_max_concurrent_images_are_worked_on_at_once() -> None:
    """Eight callers at once on one slot: the pool's single thread takes them one by one
    (each gets its thumbnails), and a caller that gives up keeps its slot held until its
    thread is done, so nothing more runs meanwhile."""
    one = PillowThumbnailer(max_concurrent=1, timeout_s=60.0)
    source = encoded(halves(1200, 900), "PNG")
    results = await asyncio.gather(*(one.thumbnails(source, THUMBNAIL_SPECS) for _ in range(8)))
    assert all(len(r) == 3 for r in results)
    assert one._slots._value == 1  # every slot back

    impatient = PillowThumbnailer(max_concurrent=1, timeout_s=0.05)
    big = encoded(halves(4000, 3000), "PNG")
    assert await impatient.thumbnails(big, THUMBNAIL_SPECS) == []
    assert impatient._slots.locked(), "the thread still works: its slot stays taken"
    for _ in range(600):
        if not impatient._slots.locked():
            break
        await asyncio.sleep(0.05)
    assert not impatient._slots.locked(), "given back once the thread finished"


def test_settings_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="max_concurrent"):
        PillowThumbnailer(max_concurrent=0)
    with pytest.raises(ValueError, match="max_pixels"):
        PillowThumbnailer(max_pixels=0)
