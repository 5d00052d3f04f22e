"""`FileMeta.thumbnails` through the HTTP app (memory adapters, real Pillow): an uploaded
image's thumbnail URLs download valid, smaller WebP images without metadata; a broken image
is uploaded without thumbnails; deleting the file stops its thumbnail URLs."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from PIL import Image

from tests.api.auth_client import use_fast_hasher
from tests.api.conftest import AppFactory
from tests.api.files_client import FilesClient
from tests.support.images import jpeg_with_gps_rotated, png, png_header

pytestmark = pytest.mark.api

ADA = "ada@example.com"


@pytest_asyncio.fixture
async def api(make_app: AppFactory) -> AsyncIterator[FilesClient]:
    app, container = make_app({})
    use_fast_hasher(container)
    async with app.test_app() as test_app:
        yield FilesClient(test_app.test_client(), container)


async def test_an_uploaded_png_gets_thumbnail_urls_that_download_smaller_images(
    api: FilesClient,
) -> None:
    token = await api.token(ADA)
    source = png(1600, 1200)
    status, meta = await api.upload(token, source, "holiday.png", "image/png")
    assert status == 201, meta

    status, got, _ = await api.call("GET", f"/files/{meta['id']}", token)
    assert status == 200
    thumbs = got["thumbnails"]
    assert [(t["size"], t["fit"], t["width"], t["height"]) for t in thumbs] == [
        (1024, "contain", 1024, 768), (256, "contain", 256, 192), (64, "cover", 64, 64)
    ]  # fmt: skip
    for thumb in thumbs:
        assert thumb["url"].startswith("http://localhost/api/v1/files/blob/")
        status, data, headers = await api.fetch(thumb["url"])
        assert status == 200
        assert headers["Content-Type"] == "image/webp"
        assert f"holiday-{thumb['size']}.webp" in headers["Content-Disposition"]
        assert len(data) < len(source)
        image = Image.open(io.BytesIO(data))
        image.load()
        assert (image.format, image.size) == ("WEBP", (thumb["width"], thumb["height"]))

    status, _, _ = await api.call("DELETE", f"/files/{meta['id']}", token)
    assert status == 204
    assert [(await api.fetch(t["url"]))[0] for t in thumbs] == [403] * 3


async def test_a_listing_carries_each_ready_images_thumbnails(api: FilesClient) -> None:
    """A gallery draws every preview from one listing, without a request per file."""
    token = await api.token(ADA)
    image = (await api.upload(token, png(800, 600), "a.png", "image/png"))[1]
    text = (await api.upload(token, b"just words\n", "b.txt", "text/plain"))[1]

    status, page, _ = await api.call("GET", "/files", token)
    assert status == 200
    listed = {item["id"]: item for item in page["items"]}
    assert "thumbnails" not in listed[text["id"]]
    thumbs = listed[image["id"]]["thumbnails"]
    assert [t["size"] for t in thumbs] == [256, 64]  # 1024 is no smaller than 800x600
    for thumb in thumbs:
        status, data, headers = await api.fetch(thumb["url"])
        assert (status, headers["Content-Type"]) == (200, "image/webp")
        assert Image.open(io.BytesIO(data)).size == (thumb["width"], thumb["height"])


async def test_a_photos_thumbnails_are_upright_and_carry_no_gps(api: FilesClient) -> None:
    token = await api.token(ADA)
    status, meta = await api.upload(token, jpeg_with_gps_rotated(800, 400), "me.jpg", None)
    assert status == 201, meta

    got = (await api.call("GET", f"/files/{meta['id']}", token))[1]
    for thumb in got["thumbnails"]:
        data = (await api.fetch(thumb["url"]))[1]
        image = Image.open(io.BytesIO(data))
        assert not image.getexif()
        assert b"Exif" not in data
    assert (got["thumbnails"][0]["width"], got["thumbnails"][0]["height"]) == (128, 256)


async def test_a_hostile_image_is_uploaded_without_thumbnails(api: FilesClient) -> None:
    token = await api.token(ADA)
    bomb = png_header(100_000, 100_000) + bytes(1000)
    status, meta = await api.upload(token, bomb, "bomb.png", "image/png")
    assert status == 201, meta

    status, got, _ = await api.call("GET", f"/files/{meta['id']}", token)
    assert status == 200
    assert "download_url" in got
    assert "thumbnails" not in got
    assert (await api.fetch(got["download_url"]))[1] == bomb


async def test_a_public_images_thumbnails_are_public_too_and_go_with_it(api: FilesClient) -> None:
    token = await api.token(ADA)
    _, meta = await api.upload(token, png(800, 600), "a.png", "image/png")
    headers = {"Authorization": f"Bearer {token}"}
    response = await api.client.patch(
        f"/api/v1/files/{meta['id']}", json={"public": True}, headers=headers
    )
    assert response.status_code == 200
    public = await response.get_json()
    thumbs = public["thumbnails"]
    assert [t["size"] for t in thumbs] == [256, 64]
    for thumb in thumbs:
        status, data, got = await api.fetch(thumb["public_url"])  # no token
        assert status == 200
        assert got["Content-Type"] == "image/webp"
        assert got["Cache-Control"] == "public, max-age=31536000, immutable"
        assert Image.open(io.BytesIO(data)).size == (thumb["width"], thumb["height"])

    response = await api.client.patch(
        f"/api/v1/files/{meta['id']}", json={"public": False}, headers=headers
    )
    private = await response.get_json()
    assert all("public_url" not in t for t in private["thumbnails"])
    assert [(await api.fetch(t["public_url"]))[0] for t in thumbs] == [404, 404]
