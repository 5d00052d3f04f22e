"""Upload attacks (issue 14 items 8 and 11) against a real server process on MongoDB and S3:
replacing checked bytes by posting the presigned form again, text that turns binary past the
sniffed head, and parallel uploads racing the storage quota."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiobotocore.session import get_session

from tests.api.files_client import PNG
from tests.api.realtime_client import Account, call, sign_up
from tests.support.moto import reset_moto
from tests.support.processes import ServerProcess, running_server
from tests.support.services import AwsCredentials, with_database

pytestmark = pytest.mark.integration

BUCKET = "flowhub-upload-attacks"
QUOTA_FILES = 3
PARALLEL = 12  # below one address's share of the in-flight places (16 of 64)


@pytest_asyncio.fixture
async def server(
    *,
    aws_endpoint_url: str,
    mongodb_uri: str,
    mongo_db_name: str,
    aws_credentials: AwsCredentials,
) -> AsyncIterator[ServerProcess]:
    async with get_session().create_client(
        "s3", endpoint_url=aws_endpoint_url, **aws_credentials
    ) as s3:
        await s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"}
        )
    env = {
        "APP_ENV": "development",
        "LOG_LEVEL": "WARNING",
        "JWT_SECRET": "j" * 40,
        "JWT_REFRESH_SECRET": "r" * 40,
        "MONGODB_URI": with_database(mongodb_uri, mongo_db_name),
        "AWS_ACCESS_KEY_ID": aws_credentials["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": aws_credentials["aws_secret_access_key"],
        "AWS_REGION": aws_credentials["region_name"],
        "AWS_ENDPOINT_URL": aws_endpoint_url,
        "S3_BUCKET_NAME": BUCKET,
        "STORAGE_QUOTA_FILES": str(QUOTA_FILES),
    }
    try:
        with running_server(env=env) as process:
            yield process
    finally:
        await reset_moto(aws_endpoint_url)


async def account(server: ServerProcess) -> Account:
    return await sign_up(server.url, f"mallory{time.monotonic_ns()}@example.com", "Mallory")


async def start_direct(
    server: ServerProcess, who: Account, name: str, size: int, content_type: str
) -> dict[str, Any]:
    body = {"name": name, "size": size, "content_type": content_type}
    status, ticket = await call(server.url, who, "POST", "/files/uploads", body)
    assert status == 201, ticket
    return dict(ticket)


async def post_form(ticket: dict[str, Any], data: bytes) -> int:
    upload = ticket["upload"]
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            upload["url"], data=upload["fields"], files={"file": ("x", data)}
        )
    return response.status_code


async def served_bytes(server: ServerProcess, who: Account, file_id: str) -> bytes:
    status, meta = await call(server.url, who, "GET", f"/files/{file_id}")
    assert status == 200, meta
    async with httpx.AsyncClient(timeout=30) as http:
        return (await http.get(meta["download_url"])).content


async def test_posting_the_form_again_after_complete_does_not_replace_the_checked_png(
    server: ServerProcess,
) -> None:
    mallory = await account(server)
    ticket = await start_direct(server, mallory, "cat.png", len(PNG), "image/png")
    assert await post_form(ticket, PNG) in (200, 201, 204)
    file_id = ticket["file"]["id"]
    status, ready = await call(server.url, mallory, "POST", f"/files/{file_id}/complete")
    assert (status, ready["status"]) == (200, "ready"), ready

    html = b"<html><script>alert(document.cookie)</script>".ljust(len(PNG), b" ")
    await post_form(ticket, html)  # S3 accepts it: the form is valid for 15 minutes

    assert await served_bytes(server, mallory, file_id) == PNG
    status, _ = await call(server.url, mallory, "POST", f"/files/{file_id}/complete")
    assert status == 200
    assert await served_bytes(server, mallory, file_id) == PNG


async def test_a_direct_text_upload_that_turns_binary_past_the_head_is_refused(
    server: ServerProcess,
) -> None:
    mallory = await account(server)
    body = b"harmless text\n" * 1000 + b"\x00<html>\x00"  # the first 8 KiB are text
    ticket = await start_direct(server, mallory, "notes.txt", len(body), "text/plain")
    assert await post_form(ticket, body) in (200, 201, 204)

    status, error = await call(
        server.url, mallory, "POST", f"/files/{ticket['file']['id']}/complete"
    )
    assert (status, error["error"]["code"]) == (415, "unsupported_media_type")


async def test_parallel_uploads_cannot_pass_the_storage_quota(server: ServerProcess) -> None:
    mallory = await account(server)
    headers = {"Authorization": f"Bearer {mallory.token}"}

    async def one(n: int) -> tuple[int, Any]:
        async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
            if n % 2:
                response = await http.post(
                    "/files", files={"file": (f"{n}.png", PNG, "image/png")}, headers=headers
                )
            else:
                body = {"name": f"{n}.png", "size": len(PNG), "content_type": "image/png"}
                response = await http.post("/files/uploads", json=body, headers=headers)
        return response.status_code, response.json()

    answers = await asyncio.gather(*(one(n) for n in range(PARALLEL)))

    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] * QUOTA_FILES + [413] * (PARALLEL - QUOTA_FILES), answers
    refused = {body["error"]["code"] for status, body in answers if status == 413}
    assert refused == {"quota_exceeded"}
    _, page = await call(server.url, mallory, "GET", "/files")
    assert len(page["items"]) == QUOTA_FILES

    kept = page["items"][0]["id"]
    assert (await call(server.url, mallory, "DELETE", f"/files/{kept}"))[0] == 204
    assert (await one(1))[0] == 201  # a delete gives the quota back
