"""Object storage (moto's S3 in a process of its own) down or hanging under a real server:
uploads fail with 503 in the contract's shape and leave no file record behind; listing and
metadata keep answering (they need MongoDB only, and a download URL is signed locally); the
bytes of an existing file can be downloaded again once storage is back; uploads work again."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.api.realtime_client import Account, sign_up
from tests.support.faults import is_contract_error, wait_deep_health
from tests.support.processes import served
from tests.support.provision import MotoServer, RedisServer, app_env, start_services
from tests.support.services import with_database

pytestmark = [pytest.mark.faults]

RECOVERY_S = 60.0


async def upload(http: httpx.AsyncClient, account: Account, name: str) -> httpx.Response:
    return await http.post(
        "/api/v1/files",
        files={"file": (name, f"contents of {name}\n".encode(), "text/plain")},
        headers={"Authorization": f"Bearer {account.token}"},
    )


async def file_ids(http: httpx.AsyncClient, account: Account) -> set[str]:
    response = await http.get(
        "/api/v1/files?limit=100", headers={"Authorization": f"Bearer {account.token}"}
    )
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def download(http: httpx.AsyncClient, account: Account, file_id: str) -> bytes | None:
    """The file's bytes through its presigned URL; None when storage does not answer."""
    meta = await http.get(
        f"/api/v1/files/{file_id}", headers={"Authorization": f"Bearer {account.token}"}
    )
    assert meta.status_code == 200, meta.text  # metadata and signing need no storage
    try:
        got = await http.get(meta.json()["download_url"], timeout=2.0)
    except httpx.HTTPError:
        return None
    return got.content if got.status_code == 200 else None


async def until_uploads_work(http: httpx.AsyncClient, account: Account, since: float) -> float:
    while time.monotonic() - since < RECOVERY_S:
        if (await upload(http, account, "again.txt")).status_code == 201:
            return time.monotonic() - since
        await asyncio.sleep(0.5)
    raise AssertionError("uploads did not work again within 60 s of storage's return")


@pytest.mark.parametrize("fault", ["killed", "paused"])
async def test_uploads_fail_with_503_and_leave_no_record_and_downloads_recover(
    fault: str, mongodb_uri: str, mongo_db_name: str, tmp_path: Path
) -> None:
    mongo = with_database(mongodb_uri, mongo_db_name)
    with (
        start_services(RedisServer, MotoServer, workdir=tmp_path) as [redis, moto],
        served(app_env(redis=redis, mongo=mongo, moto=moto), tmp_path) as [server],
    ):
        await wait_deep_health(server)
        ada = await sign_up(server.url, f"ada{time.monotonic_ns()}@example.com")
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            first = await upload(http, ada, "first.txt")
            assert first.status_code == 201, first.text
            first_id = first.json()["id"]
            assert await download(http, ada, first_id) == b"contents of first.txt\n"
            before = await file_ids(http, ada)

            moto.kill() if fault == "killed" else moto.pause()
            down_at = time.monotonic()
            failed = await upload(http, ada, "during.txt")
            failed_s = time.monotonic() - down_at
            assert failed.status_code == 503, failed.text
            assert is_contract_error(failed.json(), "service_unavailable")
            assert await file_ids(http, ada) == before, "a failed upload left a record"
            deep = await http.get("/health?deep=1")
            assert deep.status_code == 503
            assert deep.json()["checks"]["storage"]["ok"] is False
            if fault == "paused":
                assert await download(http, ada, first_id) is None

            up_at = time.monotonic()
            moto.start() if fault == "killed" else moto.resume()
            uploads_after = await until_uploads_work(http, ada, up_at)
            if fault == "paused":  # the bytes were kept: the same download works again
                while (got := await download(http, ada, first_id)) is None:
                    assert time.monotonic() - up_at < RECOVERY_S, "downloads did not recover"
                    await asyncio.sleep(0.5)
                assert got == b"contents of first.txt\n"
            downloads_after = time.monotonic() - up_at
        assert server.process.poll() is None
        print(
            f"\nstorage {fault}: upload answered 503 after {failed_s:.1f} s, no record left; "
            f"uploads back {uploads_after:.1f} s after storage returned"
            + (f", downloads back {downloads_after:.1f} s" if fault == "paused" else "")
        )
