"""The files flows with every real adapter: metadata in MongoDB, bytes in S3 (a moto server),
presigned URLs followed over real HTTP."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiobotocore.session import get_session
from PIL import Image

from config.container import build_container
from config.settings import load_settings
from domain.files.names import content_disposition
from entrypoints.http.app import create_http_app
from tests.api.auth_client import use_fast_hasher
from tests.api.files_client import PNG, TEXT, FilesClient
from tests.support.images import png
from tests.support.moto import public_read_policy, reset_moto
from tests.support.services import AwsCredentials

pytestmark = pytest.mark.integration

BUCKET = "flowhub-files-integration"


@pytest_asyncio.fixture
async def api(
    *,
    aws_endpoint_url: str,
    mongodb_uri: str,
    mongo_db_name: str,
    aws_credentials: AwsCredentials,
) -> AsyncIterator[FilesClient]:
    async with get_session().create_client(
        "s3", endpoint_url=aws_endpoint_url, **aws_credentials
    ) as s3:
        await s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"}
        )
        await s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(public_read_policy(BUCKET)))
    uri = mongodb_uri.replace("/?", f"/{mongo_db_name}?") if "/?" in mongodb_uri else mongodb_uri
    settings = load_settings(
        {
            "APP_ENV": "test",
            "MONGODB_URI": uri,
            "AWS_ACCESS_KEY_ID": aws_credentials["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": aws_credentials["aws_secret_access_key"],
            "AWS_REGION": aws_credentials["region_name"],
            "AWS_ENDPOINT_URL": aws_endpoint_url,
            "S3_BUCKET_NAME": BUCKET,
        }
    )
    container = build_container(settings)
    use_fast_hasher(container)
    app = create_http_app(container)
    try:
        async with app.test_app() as test_app:
            yield FilesClient(test_app.test_client(), container)
    finally:
        await reset_moto(aws_endpoint_url)


async def test_upload_download_list_and_delete_through_mongodb_and_s3(api: FilesClient) -> None:
    token = await api.token("grace@example.com")
    status, meta = await api.upload(token, PNG, "Grüße.png", "image/png")
    assert status == 201, meta
    _, me, _ = await api.get("/users/me", token)
    key = f"files/{me['id']}/{meta['id']}"
    blobs = api.container.adapters.blobs()
    assert type(blobs).__name__ == "S3BlobStorage"
    assert await blobs.read(key, 0, len(PNG)) == PNG

    status, got, _ = await api.call("GET", f"/files/{meta['id']}", token)
    assert status == 200
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(got["download_url"])
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["Content-Disposition"] == content_disposition("Grüße.png")

    status, page, _ = await api.call("GET", "/files", token)
    assert [item["id"] for item in page["items"]] == [meta["id"]]
    assert (await api.call("DELETE", f"/files/{meta['id']}", token))[0] == 204
    assert (await api.call("GET", f"/files/{meta['id']}", token))[0] == 404
    assert await blobs.head(key) is None


async def test_a_direct_upload_goes_straight_to_s3_then_completes(api: FilesClient) -> None:
    token = await api.token("grace@example.com")
    status, ticket, _ = await api.post(
        "/files/uploads", {"name": "notes.txt", "size": len(TEXT), "content_type": "text/plain"},
        token,
    )  # fmt: skip
    assert status == 201, ticket
    upload: dict[str, Any] = ticket["upload"]
    assert upload["url"].startswith("http://127.0.0.1")

    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            upload["url"], data=upload["fields"], files={"file": ("notes.txt", TEXT)}
        )
    assert response.status_code in (200, 201, 204), response.text
    status, ready, _ = await api.call("POST", f"/files/{ticket['file']['id']}/complete", token)
    assert (status, ready["status"], ready["size"]) == (200, "ready", len(TEXT))


async def test_an_image_direct_upload_gets_thumbnails_in_s3_and_mongodb_deleted_with_it(
    api: FilesClient,
) -> None:
    """Both real stores: the thumbnails are S3 objects beside the original, the record in
    MongoDB lists them, their presigned URLs serve WebP over HTTP, the delete removes them."""
    photo = png(1600, 1200)
    token = await api.token("grace@example.com")
    status, ticket, _ = await api.post(
        "/files/uploads", {"name": "p.png", "size": len(photo), "content_type": "image/png"},
        token,
    )  # fmt: skip
    assert status == 201, ticket
    upload: dict[str, Any] = ticket["upload"]
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            upload["url"], data=upload["fields"], files={"file": ("p.png", photo)}
        )
        assert response.status_code in (200, 201, 204), response.text
        file_id = ticket["file"]["id"]
        assert (await api.call("POST", f"/files/{file_id}/complete", token))[0] == 200

        _, got, _ = await api.call("GET", f"/files/{file_id}", token)
        assert [t["size"] for t in got["thumbnails"]] == [1024, 256, 64]
        for thumb in got["thumbnails"]:
            served = await http.get(thumb["url"])
            assert served.status_code == 200
            image = Image.open(io.BytesIO(served.content))
            assert (image.format, image.size) == ("WEBP", (thumb["width"], thumb["height"]))

    _, me, _ = await api.get("/users/me", token)
    keys = [f"thumbs/{me['id']}/{file_id}/{size}.webp" for size in (64, 256, 1024)]
    blobs = api.container.adapters.blobs()
    assert None not in [await blobs.head(key) for key in keys]
    assert (await api.call("DELETE", f"/files/{file_id}", token))[0] == 204
    assert [await blobs.head(key) for key in keys] == [None, None, None]


async def test_a_public_image_is_read_from_s3_without_a_token_until_it_is_private(
    api: FilesClient,
) -> None:
    """MongoDB keeps the public token, S3 the copies under `public/` (with their
    Cache-Control on the object), read anonymously over real HTTP; private again, or deleted,
    the copies are gone. The bucket has the policy README "Files" documents, which moto
    evaluates for anonymous requests: the private object stays unreadable without a
    signature."""
    photo = png(800, 600)
    token = await api.token("grace@example.com")
    _, meta = await api.upload(token, photo, "avatar.png", "image/png")
    patch = await api.client.patch(
        f"/api/v1/files/{meta['id']}",
        json={"public": True},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert patch.status_code == 200
    public = await patch.get_json()
    url = public["public_url"]
    assert url.startswith("http://127.0.0.1") and f"/{BUCKET}/public/" in url
    thumb_urls = [t["public_url"] for t in public["thumbnails"]]
    assert len(thumb_urls) == 2
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(url)  # no token, no signature
        assert response.status_code == 200
        assert response.content == photo
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        for thumb in thumb_urls:
            got = await http.get(thumb)
            assert (got.status_code, got.headers["Content-Type"]) == (200, "image/webp")
        _, me, _ = await api.get("/users/me", token)
        private = url.split("/public/")[0] + f"/files/{me['id']}/{meta['id']}"
        assert (await http.get(private)).status_code == 403
    _, again, _ = await api.call("GET", f"/files/{meta['id']}", token)
    assert again["public_url"] == url  # read back from MongoDB

    patch = await api.client.patch(
        f"/api/v1/files/{meta['id']}",
        json={"public": False},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert patch.status_code == 200
    async with httpx.AsyncClient(timeout=30) as http:
        assert [(await http.get(u)).status_code for u in [url, *thumb_urls]] == [404] * 3

    # public again, then deleted: the new copies go with the file
    patch = await api.client.patch(
        f"/api/v1/files/{meta['id']}",
        json={"public": True},
        headers={"Authorization": f"Bearer {token}"},
    )
    republished = (await patch.get_json())["public_url"]
    assert republished != url
    assert (await api.call("DELETE", f"/files/{meta['id']}", token))[0] == 204
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.get(republished)).status_code == 404


async def test_a_multipart_upload_interrupted_and_resumed_on_s3_is_the_exact_bytes(
    api: FilesClient,
) -> None:
    """Parts PUT straight to S3 through presigned URLs, one lost and resumed from ListParts,
    completed by S3 on the staging key, checked and promoted; the record in MongoDB."""
    part = 8 * 1024 * 1024
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * (part // 128) + b"end"
    token = await api.token("grace@example.com")
    body = {"name": "big.png", "size": len(data), "content_type": "image/png"}
    status, started, _ = await api.post("/files/multipart", body, token)
    assert status == 201, started
    assert (started["part_size"], started["part_count"]) == (part, 3)
    file_id = started["file"]["id"]

    async def send(numbers: list[int]) -> None:
        status, urls, _ = await api.post(
            f"/files/{file_id}/multipart/parts", {"part_numbers": numbers}, token
        )
        assert status == 200, urls
        async with httpx.AsyncClient(timeout=60) as http:
            for entry in urls["parts"]:
                n = entry["part_number"]
                assert entry["url"].startswith("http://127.0.0.1")
                response = await http.put(entry["url"], content=data[(n - 1) * part : n * part])
                assert response.status_code == 200, response.text

    await send([1, 3])
    status, progress, _ = await api.get(f"/files/{file_id}/multipart", token)
    assert status == 200
    assert [(p["part_number"], p["size"]) for p in progress["parts"]] == [
        (1, part),
        (3, len(data) - 2 * part),
    ]
    await send([2])
    status, progress, _ = await api.get(f"/files/{file_id}/multipart", token)
    parts = [{"part_number": p["part_number"], "etag": p["etag"]} for p in progress["parts"]]
    status, ready, _ = await api.post(
        f"/files/{file_id}/multipart/complete", {"parts": parts}, token
    )
    assert (status, ready["status"], ready["size"]) == (200, "ready", len(data)), ready

    status, got, _ = await api.call("GET", f"/files/{file_id}", token)
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.get(got["download_url"])
    assert response.content == data
    _, me, _ = await api.get("/users/me", token)
    blobs = api.container.adapters.blobs()
    assert await blobs.head(f"staging/files/{me['id']}/{file_id}") is None


async def test_an_aborted_multipart_upload_on_s3_leaves_no_upload_behind(api: FilesClient) -> None:
    token = await api.token("grace@example.com")
    body = {"name": "big.png", "size": 9 * 1024 * 1024, "content_type": "image/png"}
    status, started, _ = await api.post("/files/multipart", body, token)
    assert status == 201, started
    file_id = started["file"]["id"]

    assert (await api.call("DELETE", f"/files/{file_id}/multipart", token))[0] == 204

    _, me, _ = await api.get("/users/me", token)
    blobs = api.container.adapters.blobs()
    key = f"staging/files/{me['id']}/{file_id}"
    assert await blobs.list_parts(key, started["upload_id"]) is None
    assert (await api.get(f"/files/{file_id}/multipart", token))[0] == 404


async def test_no_public_url_is_ever_issued_for_a_file_that_is_not_an_image_on_s3(
    api: FilesClient, aws_endpoint_url: str, aws_credentials: AwsCredentials
) -> None:
    """A PDF's owner asks for it public: 409 `not_an_image`, MongoDB keeps it private, and
    nothing is copied under the bucket's anonymously readable `public/` prefix."""
    token = await api.token("grace@example.com")
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    status, meta = await api.upload(token, pdf, "paper.pdf", "application/pdf")
    assert status == 201, meta
    patch = await api.client.patch(
        f"/api/v1/files/{meta['id']}",
        json={"public": True},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert patch.status_code == 409
    assert (await patch.get_json())["error"]["code"] == "not_an_image"
    _, again, _ = await api.call("GET", f"/files/{meta['id']}", token)
    assert again["public"] is False
    assert "public_url" not in again
    async with get_session().create_client(
        "s3", endpoint_url=aws_endpoint_url, **aws_credentials
    ) as s3:
        listed = await s3.list_objects_v2(Bucket=BUCKET, Prefix="public/")
    assert listed.get("KeyCount", 0) == 0


async def test_an_avatar_is_an_s3_public_thumbnail_gone_with_its_file(api: FilesClient) -> None:
    """The avatar's file and token live in MongoDB's user document, its URL is S3's public
    copy of the 256 px thumbnail, read anonymously; the file deleted, the profile has no
    avatar and the URL is gone."""
    token = await api.token("grace@example.com")
    _, meta = await api.upload(token, png(800, 600), "me.png", "image/png")
    status, chosen, _ = await api.send("PATCH", "/users/me", {"avatar_file_id": meta["id"]}, token)
    assert status == 200, chosen
    url = chosen["avatar_url"]
    assert url.startswith("http://127.0.0.1") and f"/{BUCKET}/public/" in url
    assert url.endswith(f"/{meta['id']}-256.webp") and "?" not in url
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(url)
        assert (response.status_code, response.headers["Content-Type"]) == (200, "image/webp")
        assert Image.open(io.BytesIO(response.content)).size == (256, 192)
    _, me, _ = await api.get("/users/me", token)
    assert me["avatar_url"] == url  # read back from MongoDB
    _, users, _ = await api.get(f"/users?ids={me['id']}", token)
    assert users["items"] == [{"id": me["id"], "name": "Ada", "avatar_url": url}]

    assert (await api.call("DELETE", f"/files/{meta['id']}", token))[0] == 204
    _, me, _ = await api.get("/users/me", token)
    assert "avatar_url" not in me
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.get(url)).status_code == 404
