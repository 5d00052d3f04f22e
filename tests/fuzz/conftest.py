"""Fixtures of the hostile-input suites: the environment of a served app on the real services."""

from __future__ import annotations

import time

import pytest

from tests.support.services import with_database

SECRETS = {"JWT_SECRET": "j" * 40, "JWT_REFRESH_SECRET": "r" * 40}
BUCKET = "flowhub-sweep"


@pytest.fixture(scope="module")
def real_env(redis_url: str, mongodb_uri: str, aws_endpoint_url: str) -> dict[str, str]:
    import boto3  # type: ignore[import-untyped]

    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    s3 = boto3.client("s3", endpoint_url=aws_endpoint_url, region_name="ap-south-1", **credentials)
    if BUCKET not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"}
        )
    uri = with_database(mongodb_uri, f"sweep{time.time_ns()}")
    return {
        "REDIS_URL": redis_url,
        "MONGODB_URI": uri,
        "AWS_ACCESS_KEY_ID": credentials["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": credentials["aws_secret_access_key"],
        "AWS_REGION": "ap-south-1",
        "AWS_ENDPOINT_URL": aws_endpoint_url,
        "S3_BUCKET_NAME": BUCKET,
    }
