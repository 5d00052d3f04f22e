"""The auth flows with every real adapter: MongoDB, Redis, SES on moto. Afterwards every key
the flows wrote to Redis must have a TTL (Redis holds only short-lived state)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiobotocore.session import get_session
from redis.asyncio import Redis

from config.container import build_container
from config.settings import load_settings
from entrypoints.http.app import create_http_app
from tests.api.auth_client import PASSWORD, AuthClient, use_fast_hasher
from tests.support.moto import moto_sent_messages
from tests.support.processes import free_port
from tests.support.services import AwsCredentials

pytestmark = pytest.mark.integration

SENDER = "no-reply@flowhub.example"
EMAIL = "grace@example.com"


@pytest_asyncio.fixture
async def api(
    *,
    aws_endpoint_url: str,
    redis_url: str,
    redis_client: Redis,
    mongodb_uri: str,
    mongo_db_name: str,
    aws_credentials: AwsCredentials,
) -> AsyncIterator[AuthClient]:
    async with get_session().create_client(
        "ses", endpoint_url=aws_endpoint_url, **aws_credentials
    ) as ses:
        await ses.verify_email_identity(EmailAddress=SENDER)
    uri = mongodb_uri.replace("/?", f"/{mongo_db_name}?") if "/?" in mongodb_uri else mongodb_uri
    settings = load_settings(
        {
            "APP_ENV": "test",
            "MONGODB_URI": uri,
            "REDIS_URL": redis_url,
            "AWS_ACCESS_KEY_ID": aws_credentials["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": aws_credentials["aws_secret_access_key"],
            "AWS_SES_REGION": aws_credentials["region_name"],
            "AWS_ENDPOINT_URL": aws_endpoint_url,
            "FROM_EMAIL": SENDER,
        }
    )
    container = build_container(settings)
    use_fast_hasher(container)
    app = create_http_app(container)
    async with app.test_app() as test_app:
        yield AuthClient(test_app.test_client(), container)


async def test_the_auth_flows_run_on_real_services_and_leave_only_expiring_keys(
    api: AuthClient, redis_client: Redis
) -> None:
    status, _, _ = await api.post(
        "/auth/signup", {"email": EMAIL, "password": PASSWORD, "name": "Grace"}
    )
    assert status == 202
    await api.container.adapters.tasks().drain(10)
    status, body, _ = await api.get(f"/dev/mailbox?to={EMAIL}")
    assert status == 404, "the dev mailbox must not exist with a real mailer"
    status, body, _ = await api.post("/auth/login", {"email": EMAIL, "password": PASSWORD})
    assert (status, body["error"]["code"]) == (403, "email_not_verified")
    status, body, _ = await api.post("/auth/login", {"email": EMAIL, "password": "wrong one!"})
    assert status == 401
    status, _, _ = await api.post("/auth/otp/request", {"email": EMAIL, "purpose": "login"})
    assert status == 202
    status, _, _ = await api.post("/auth/otp/request", {"email": EMAIL, "purpose": "login"})
    assert status == 429
    await api.container.adapters.tasks().drain(10)

    keys = [key async for key in redis_client.scan_iter(count=1000)]
    assert keys, "the flows wrote nothing to Redis?"
    for key in keys:
        assert await redis_client.ttl(key) > 0, f"{key!r} has no TTL"
    names = {k.decode() for k in keys}
    assert any(k.startswith("otp:") for k in names)
    assert any(k.startswith("rate:") and k.endswith(":login") for k in names)


async def code_from_ses(endpoint_url: str, email: str) -> str:
    for message in reversed(await moto_sent_messages(endpoint_url)):
        if email in message["destinations"]["ToAddresses"]:
            match = re.search(r"\b(\d{6})\b", message["subject"])
            assert match, message["subject"]
            return match.group(1)
    raise AssertionError(f"SES sent nothing to {email}")


async def test_signup_verify_login_refresh_with_the_code_mailed_through_ses(
    api: AuthClient, aws_endpoint_url: str
) -> None:
    email = "ses-reader@example.com"
    await api.post("/auth/signup", {"email": email, "password": PASSWORD, "name": "Sid"})
    await api.container.adapters.tasks().drain(10)
    code = await code_from_ses(aws_endpoint_url, email)
    status, pair, _ = await api.post("/auth/verify-email", {"email": email, "code": code})
    assert status == 200, pair
    status, pair, _ = await api.post("/auth/login", {"email": email, "password": PASSWORD})
    assert status == 200
    status, me, _ = await api.get("/users/me", token=pair["access_token"])
    assert (status, me["email"], me["email_verified"]) == (200, email, True)
    status, rotated, _ = await api.post("/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert status == 200
    assert rotated["refresh_token"] != pair["refresh_token"]


async def test_with_redis_down_login_and_codes_fail_closed_and_reads_fail_open() -> None:
    container = build_container(
        load_settings({"APP_ENV": "test", "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    )
    use_fast_hasher(container)
    # a signed-in user from before the outage (the memory user store is not Redis)
    user_id = container.adapters.ids().new_id()
    from domain.auth.model import User

    now = container.adapters.clock().now()
    hasher = container.adapters.hasher()
    await container.adapters.users().add(
        User(user_id, "ok@example.com", "Ok", await hasher.hash(PASSWORD), True, now, now)
    )
    token = container.adapters.tokens().issue(user_id, "family", now).token
    app = create_http_app(container)
    async with app.test_app() as test_app:
        api = AuthClient(test_app.test_client(), container)
        status, body, _ = await api.post(
            "/auth/login", {"email": "ok@example.com", "password": PASSWORD}
        )
        assert (status, body["error"]["code"]) == (503, "service_unavailable")
        status, body, _ = await api.post(
            "/auth/otp/request", {"email": "ok@example.com", "purpose": "login"}
        )
        assert (status, body["error"]["code"]) == (503, "service_unavailable")
        status, body, headers = await api.get("/users/me", token=token)
        assert (status, body.get("email")) == (200, "ok@example.com"), body
        # the API quota is counted in the process: Redis down, it still counts
        assert headers["X-RateLimit-Limit"] == "120"
