from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

from adapters.lifecycle import ManagedClient

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_ses import SESClient
else:
    S3Client = SESClient = object


@dataclass(frozen=True, slots=True)
class AwsConfig:
    region: str
    access_key_id: str | None
    secret_access_key: str | None
    endpoint_url: str | None
    timeout_s: float


@overload
def aws_client(service: Literal["s3"], config: AwsConfig) -> ManagedClient[S3Client]: ...
@overload
def aws_client(service: Literal["ses"], config: AwsConfig) -> ManagedClient[SESClient]: ...
def aws_client(service: Literal["s3", "ses"], config: AwsConfig) -> ManagedClient[Any]:
    """One aiobotocore client per service, created on first use: importing botocore and building
    a client costs hundreds of milliseconds, which no cold start and no `GET /health` may pay."""
    stack = AsyncExitStack()

    async def open_client() -> Any:
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        creator = get_session().create_client(
            service,
            region_name=config.region,
            endpoint_url=config.endpoint_url,
            aws_access_key_id=config.access_key_id,
            aws_secret_access_key=config.secret_access_key,
            config=AioConfig(
                connect_timeout=config.timeout_s,
                read_timeout=max(config.timeout_s * 5, 5.0),
                retries={"max_attempts": 2, "mode": "standard"},
                signature_version="s3v4" if service == "s3" else None,
            ),
        )
        return await stack.enter_async_context(creator)

    async def close_client(_: Any) -> None:
        await stack.aclose()

    return ManagedClient(service, open_client, close_client)


class S3Probe:
    name = "storage"
    adapter = "s3"

    def __init__(self, client: ManagedClient[S3Client], bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    async def check(self) -> None:
        client = await self._client.get()
        await client.head_bucket(Bucket=self._bucket)
