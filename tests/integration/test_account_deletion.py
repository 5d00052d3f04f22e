"""Issue 20, "Account deletion", on every real adapter: two server processes sharing MongoDB
and Redis, files in S3 (a moto server). The account is given everything it can have (files
with thumbnails and public copies, a pending upload, rooms, an invitation, messages, read
marks, codes, a reset grant, failure counters and cooldowns), then deleted; afterwards
nothing of it is left in any store, its token is refused on both instances and its socket
on the other instance is disconnected. Deleted by its owner (`DELETE /users/me`) and by an
administrator (`DELETE /admin/users/<id>`, no password) alike."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from aiobotocore.session import get_session
from pymongo import AsyncMongoClient

from domain.auth.model import OtpPurpose
from domain.auth.secrets import Keyring
from tests.api.realtime_client import PASSWORD, Account, connect, sign_up
from tests.support.images import png
from tests.support.moto import public_read_policy, reset_moto
from tests.support.processes import ServerProcess, running_server
from tests.support.services import AwsCredentials, with_database

pytestmark = pytest.mark.integration

SECRETS = {"JWT_SECRET": "d" * 40, "JWT_REFRESH_SECRET": "e" * 40}
BUCKET = "flowhub-account-deletion"
IP = {"Fly-Client-IP": "10.77.0.1"}
ROOT = "root-deletion@example.com"  # the deployment's ADMIN_EMAILS


@pytest.fixture
def deployment(
    redis_url: str,
    mongodb_uri: str,
    aws_endpoint_url: str,
    aws_credentials: AwsCredentials,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, ServerProcess, dict[str, str]]]:
    asyncio.run(_bucket(aws_endpoint_url, aws_credentials))
    env = {
        "APP_ENV": "development",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": redis_url,
        "MONGODB_URI": with_database(mongodb_uri, f"deletion{time.monotonic_ns()}"),
        "CLUSTER_ALIVE_S": "2",
        "AWS_ACCESS_KEY_ID": aws_credentials["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": aws_credentials["aws_secret_access_key"],
        "AWS_REGION": aws_credentials["region_name"],
        "AWS_ENDPOINT_URL": aws_endpoint_url,
        "S3_BUCKET_NAME": BUCKET,
        "ADMIN_EMAILS": ROOT,
        **SECRETS,
    }
    logs = tmp_path_factory.mktemp("deletion")
    try:
        with ExitStack() as stack:
            a = stack.enter_context(running_server(env=env, log_dir=logs))
            b = stack.enter_context(running_server(env=env, log_dir=logs))
            yield a, b, env
    finally:
        asyncio.run(reset_moto(aws_endpoint_url))


async def _bucket(endpoint: str, credentials: AwsCredentials) -> None:
    async with get_session().create_client("s3", endpoint_url=endpoint, **credentials) as s3:
        await s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"}
        )
        await s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(public_read_policy(BUCKET)))


async def s3_keys(endpoint: str, credentials: AwsCredentials) -> list[str]:
    async with get_session().create_client("s3", endpoint_url=endpoint, **credentials) as s3:
        listed = await s3.list_objects_v2(Bucket=BUCKET)
    return [item["Key"] for item in listed.get("Contents", [])]


async def redis_keys(url: str) -> list[str]:
    client = aioredis.from_url(url)
    try:
        return [key.decode() async for key in client.scan_iter(count=1000)]
    finally:
        await client.aclose()


async def api(
    server: ServerProcess,
    method: str,
    path: str,
    token: str | None = None,
    body: object = None,
    **kwargs: Any,
) -> httpx.Response:
    headers = {**IP, **({"Authorization": f"Bearer {token}"} if token else {})}
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=30) as http:
        return await http.request(method, path, json=body, headers=headers, **kwargs)


async def code_in_mailbox(server: ServerProcess, email: str, subject_part: str) -> str:
    for _ in range(200):
        box = (await api(server, "GET", "/dev/mailbox", params={"to": email})).json()
        for message in box["messages"]:
            if subject_part in message["subject"].lower():
                return str(re.findall(r"\b\d{6}\b", message["text"])[0])
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {subject_part} mail for {email}")


async def everything_of(a: ServerProcess, ada: Account, email: str, bob: Account) -> str:
    """Give Ada's account every kind of state; the id of her room with Bob."""
    photo = png(600, 400)
    up = await api(a, "POST", "/files", ada.token, files={"file": ("p.png", photo, "image/png")})
    assert up.status_code == 201, up.text
    made_public = await api(a, "PATCH", f"/files/{up.json()['id']}", ada.token, {"public": True})
    assert made_public.status_code == 200 and made_public.json()["public_url"]
    text = await api(a, "POST", "/files", ada.token, files={"file": ("n.txt", b"hi", "text/plain")})
    assert text.status_code == 201
    pending = await api(
        a,
        "POST",
        "/files/uploads",
        ada.token,
        {"name": "x.txt", "size": 5, "content_type": "text/plain"},
    )
    assert pending.status_code == 201, pending.text

    room = await api(
        a, "POST", "/chat/rooms", ada.token, {"name": "G", "member_ids": [bob.user_id]}
    )
    assert room.status_code == 201
    room_id = room.json()["id"]
    assert (await api(a, "POST", f"/chat/rooms/{room_id}/accept", bob.token)).status_code == 200
    for body in ("one", "two"):
        sent = await api(a, "POST", f"/chat/rooms/{room_id}/messages", ada.token, {"body": body})
        assert sent.status_code == 201
    await api(a, "POST", f"/chat/rooms/{room_id}/messages", bob.token, {"body": "bob's"})
    assert (await api(a, "POST", f"/chat/rooms/{room_id}/read", ada.token, {"seq": 3})).is_success
    invite = {"name": "Later", "member_ids": [ada.user_id]}
    assert (await api(a, "POST", "/chat/rooms", bob.token, invite)).status_code == 201

    # Redis: a failed login, a wrong code, a pending login code, a reset grant, cooldowns
    wrong = {"email": email, "password": "not the password"}
    assert (await api(a, "POST", "/auth/login", body=wrong)).status_code == 401
    for purpose in ("login", "password_reset"):
        asked = await api(a, "POST", "/auth/otp/request", body={"email": email, "purpose": purpose})
        assert asked.status_code == 202
    guess = {"email": email, "purpose": "login", "code": "000000"}
    await api(a, "POST", "/auth/otp/verify", body=guess)
    code = await code_in_mailbox(a, email, "reset")
    granted = await api(
        a,
        "POST",
        "/auth/otp/verify",
        body={"email": email, "purpose": "password_reset", "code": code},
    )
    assert granted.status_code == 200, granted.text

    # a second factor (an enrolment pending) and a wrong code for it
    assert (await api(a, "POST", "/auth/mfa/totp", ada.token)).status_code == 200
    await api(a, "POST", "/auth/mfa/totp/confirm", ada.token, {"code": "000000"})
    return str(room_id)


@pytest.mark.parametrize("by", ["owner", "admin"])
async def test_deleting_an_account_leaves_nothing_of_it_in_mongodb_redis_and_s3(
    by: str,
    deployment: tuple[ServerProcess, ServerProcess, dict[str, str]],
    redis_url: str,
    aws_endpoint_url: str,
    aws_credentials: AwsCredentials,
) -> None:
    a, b, env = deployment
    email = f"ada{time.monotonic_ns()}@example.com"
    ada = await sign_up(a.url, email)
    bob = await sign_up(a.url, f"bob{time.monotonic_ns()}@example.com", "Bob")
    room_id = await everything_of(a, ada, email, bob)
    keys = await redis_keys(redis_url)
    uid, email_key = ada.user_id, Keyring(SECRETS["JWT_REFRESH_SECRET"]).email_key(email)
    assert {
        f"rate:email-{email_key}:otp:login",
        f"otp:{uid}:login",
        f"session:{uid}:otp",
        f"rate:{uid}:login",
        f"rate:{uid}:otp_failures",
        f"rate:{uid}:otp_failures:{IP['Fly-Client-IP']}",
        f"rate:{uid}:mfa_failures",
    } <= set(keys), keys
    assert len(await s3_keys(aws_endpoint_url, aws_credentials)) >= 5  # files, thumbs, copies

    ada_socket = await connect(b.url, ada)  # on the other instance
    ada_socket.client.on("disconnect", lambda *_: ada_socket.events.append(("disconnect", None)))
    bob_socket = await connect(a.url, bob)

    if by == "owner":
        refused = await api(a, "DELETE", "/users/me", ada.token, {"password": "wrong password"})
        assert (refused.status_code, refused.json()["error"]["code"]) == (
            401,
            "invalid_credentials",
        )
        deleted = await api(a, "DELETE", "/users/me", ada.token, {"password": PASSWORD})
    else:
        root = await sign_up(a.url, ROOT, "Root")
        assert (await api(a, "DELETE", f"/admin/users/{ada.user_id}", bob.token)).status_code == 404
        deleted = await api(a, "DELETE", f"/admin/users/{ada.user_id}", root.token)
    assert deleted.status_code == 204, deleted.text

    # the access token is refused at once where it was deleted, and within a second elsewhere
    assert (await api(a, "GET", "/users/me", ada.token)).status_code == 401
    started = time.monotonic()
    while (await api(b, "GET", "/users/me", ada.token)).status_code != 401:
        assert time.monotonic() - started < 2.0, "the other instance still takes the token"
        await asyncio.sleep(0.05)
    await ada_socket.wait_for("disconnect", within=3.0)
    assert ada_socket.of("session:ended") == [{"reason": "revoked"}]
    assert not ada_socket.client.connected
    left = await bob_socket.wait_for("room:member_left")
    assert {"room_id": room_id, "user_id": ada.user_id} in left
    await bob_socket.close()

    # MongoDB: no user, session, file, usage, read mark, membership or invitation; messages
    # are tombstones with their seq
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(env["MONGODB_URI"])
    database = client.get_default_database()
    try:
        assert await database["users"].count_documents({"_id": ada.user_id}) == 0
        assert await database["users"].count_documents({"email": email}) == 0
        assert await database["sessions"].count_documents({"user_id": ada.user_id}) == 0
        assert await database["second_factors"].count_documents({"_id": ada.user_id}) == 0
        assert await database["files"].count_documents({"owner_id": ada.user_id}) == 0
        assert await database["file_usage"].count_documents({"_id": ada.user_id}) == 0
        assert await database["reads"].count_documents({"user_id": ada.user_id}) == 0
        in_rooms = {"$or": [{"member_ids": ada.user_id}, {"invited_ids": ada.user_id}]}
        assert await database["rooms"].count_documents(in_rooms) == 0
        messages = [m async for m in database["messages"].find({"room_id": room_id}).sort("seq", 1)]
        assert [
            (m["seq"], m["sender_id"], m["body"], m.get("deleted", False)) for m in messages
        ] == [
            (1, ada.user_id, "", True),
            (2, ada.user_id, "", True),
            (3, bob.user_id, "bob's", False),
        ]
    finally:
        await client.close()

    # S3: no object at all (Bob stored none): originals, staging, thumbnails, public copies
    assert await s3_keys(aws_endpoint_url, aws_credentials) == []

    # Redis: no key naming the user, nor its address's keyed name
    keys = await redis_keys(redis_url)
    assert [k for k in keys if ada.user_id in k or email_key in k] == []
    assert all(f"rate:email-{email_key}:otp:{p}" not in keys for p in OtpPurpose)

    # the address is free again: a new signup makes a new account
    again = await sign_up(b.url, email)
    assert again.user_id != ada.user_id
