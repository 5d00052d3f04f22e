"""`GET /health?deep=1` through the real adapters, against real MongoDB, Redis and S3."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from aiobotocore.session import get_session

from config.container import build_container
from config.settings import load_settings
from entrypoints.http.app import create_http_app
from tests.support.processes import free_port
from tests.support.services import AwsCredentials

pytestmark = pytest.mark.integration

BUCKET = "flowhub-health"


async def deep_health(env: Mapping[str, str]) -> tuple[int, dict[str, object]]:
    container = build_container(load_settings({"APP_ENV": "test", **env}))
    app = create_http_app(container)
    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/health?deep=1")
        body = await response.get_json()
    return response.status_code, body


@pytest.fixture
async def bucket(aws_endpoint_url: str, aws_credentials: AwsCredentials) -> str:
    async with get_session().create_client(
        "s3", endpoint_url=aws_endpoint_url, **aws_credentials
    ) as s3:
        buckets = await s3.list_buckets()
        if BUCKET not in {b["Name"] for b in buckets["Buckets"]}:
            await s3.create_bucket(
                Bucket=BUCKET,
                CreateBucketConfiguration={"LocationConstraint": aws_credentials["region_name"]},
            )
    return BUCKET


@pytest.fixture
def real_env(
    mongodb_uri: str,
    redis_url: str,
    aws_endpoint_url: str,
    aws_credentials: AwsCredentials,
    bucket: str,
) -> dict[str, str]:
    return {
        "MONGODB_URI": mongodb_uri,
        "REDIS_URL": redis_url,
        "S3_BUCKET_NAME": bucket,
        "AWS_ACCESS_KEY_ID": aws_credentials["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": aws_credentials["aws_secret_access_key"],
        "AWS_ENDPOINT_URL": aws_endpoint_url,
        "HEALTH_CHECK_TIMEOUT_S": "5",
    }


async def test_every_real_dependency_answers(real_env: dict[str, str]) -> None:
    status, body = await deep_health(real_env)
    assert status == 200, body
    assert body["status"] == "ok"
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert {name: c["adapter"] for name, c in checks.items()} == {
        "mongo": "mongodb",
        "redis": "redis",
        "storage": "s3",
    }
    assert all(c["ok"] for c in checks.values())


async def test_an_unreachable_redis_and_a_missing_bucket_make_it_degraded(
    real_env: dict[str, str],
) -> None:
    dead_port = free_port()
    status, body = await deep_health(
        {
            **real_env,
            "REDIS_URL": f"redis://127.0.0.1:{dead_port}/0",
            "S3_BUCKET_NAME": "no-such-bucket-here",
            "HEALTH_CHECK_TIMEOUT_S": "1",
        }
    )
    assert status == 503
    assert body["status"] == "degraded"
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert checks["mongo"]["ok"] is True
    assert checks["redis"]["ok"] is False
    assert checks["storage"]["ok"] is False
    assert str(dead_port) not in str(body)
