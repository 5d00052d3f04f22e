"""The service fixtures reach real services through the drivers the adapters use.

Whatever served them (an env URL, testcontainers or processes the session started), these
tests prove that redis-py, motor, odmantic and aiobotocore each complete a round trip.
"""

from typing import Any
from uuid import uuid4

import pytest
from motor.motor_asyncio import AsyncIOMotorClient
from odmantic import AIOEngine, Model
from redis.asyncio import Redis

from tests.support.services import AwsCredentials

pytestmark = pytest.mark.integration


class Note(Model):
    title: str
    views: int = 0


async def test_redis_keeps_a_value_with_its_expiry(redis_client: Redis) -> None:
    await redis_client.set("smoke:greeting", b"hello", ex=60)

    assert await redis_client.get("smoke:greeting") == b"hello"
    assert 0 < await redis_client.ttl("smoke:greeting") <= 60
    await redis_client.delete("smoke:greeting")


async def test_redis_client_starts_on_an_empty_database(redis_client: Redis) -> None:
    assert await redis_client.dbsize() == 0


async def test_motor_inserts_finds_and_pings(mongodb_uri: str, mongo_db_name: str) -> None:
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(mongodb_uri)
    try:
        assert (await client.admin.command("ping"))["ok"] == 1
        collection = client[mongo_db_name]["smoke"]

        inserted = await collection.insert_one({"name": "Vella", "cuisine": "Italian"})
        found = await collection.find_one({"_id": inserted.inserted_id})

        assert found is not None
        assert found["cuisine"] == "Italian"
    finally:
        client.close()


async def test_odmantic_saves_and_finds_a_model(mongodb_uri: str, mongo_db_name: str) -> None:
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(mongodb_uri)
    try:
        engine = AIOEngine(client=client, database=mongo_db_name)
        # odmantic's `id` has a default factory that mypy cannot see through pydantic's
        # dataclass_transform, so `Note(title=...)` reads as missing `id`.
        saved = await engine.save(Note.model_validate({"title": "first", "views": 3}))

        found = await engine.find_one(Note, Note.title == "first")

        assert found == saved
        assert found is not None
        assert found.views == 3
    finally:
        client.close()


async def test_each_test_gets_its_own_mongo_database(mongodb_uri: str, mongo_db_name: str) -> None:
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(mongodb_uri)
    try:
        assert mongo_db_name.startswith("test_")
        assert await client[mongo_db_name]["smoke"].count_documents({}) == 0
    finally:
        client.close()


async def test_s3_stores_and_returns_an_object(
    aws_endpoint_url: str, aws_credentials: AwsCredentials
) -> None:
    from aiobotocore.session import get_session

    bucket = f"smoke-{uuid4().hex[:12]}"
    session = get_session()
    async with session.create_client("s3", endpoint_url=aws_endpoint_url, **aws_credentials) as s3:
        await s3.create_bucket(
            Bucket=bucket,
            CreateBucketConfiguration={"LocationConstraint": aws_credentials["region_name"]},
        )
        await s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello", ContentType="text/plain")

        response = await s3.get_object(Bucket=bucket, Key="hello.txt")
        async with response["Body"] as body:
            assert await body.read() == b"hello"
        assert response["ContentType"] == "text/plain"


async def test_ses_sends_from_a_verified_address(
    aws_endpoint_url: str, aws_credentials: AwsCredentials
) -> None:
    from aiobotocore.session import get_session

    session = get_session()
    async with session.create_client(
        "ses", endpoint_url=aws_endpoint_url, **aws_credentials
    ) as ses:
        await ses.verify_email_identity(EmailAddress="noreply@flowhub.example")

        sent = await ses.send_email(
            Source="noreply@flowhub.example",
            Destination={"ToAddresses": ["ada@flowhub.example"]},
            Message={"Subject": {"Data": "Your code"}, "Body": {"Text": {"Data": "123456"}}},
        )

        assert sent["MessageId"]
