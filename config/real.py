"""Builders of the real adapters. Each imports its adapter (and so its driver) only when it is
first called: odmantic, botocore, argon2 and PyJWT stay off the cold-start path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from config.settings import Settings
from ports.clock import Clock

if TYPE_CHECKING:
    from adapters.lifecycle import ManagedClient

type Hook = Callable[[], Awaitable[None]]

DEFAULT_DATABASE = "flowhub"


def database_name(uri: str | None) -> str:
    """The database named in the URI's path (`mongodb+srv://host/flowhub`), else `flowhub`."""
    if not uri:
        return DEFAULT_DATABASE
    rest = uri.split("://", 1)[-1]
    path = rest.split("/", 1)[1] if "/" in rest else ""
    name = path.split("?", 1)[0]
    return name or DEFAULT_DATABASE


def argon2_hasher() -> Any:
    from adapters.argon2.hasher import Argon2PasswordHasher

    return Argon2PasswordHasher(max_concurrent=2)


def jwt_codec(secret: str) -> Any:
    from adapters.jwt.access_tokens import JwtAccessTokenCodec

    return JwtAccessTokenCodec(secret)


def mongo_users(client: ManagedClient[Any], settings: Settings) -> Any:
    from adapters.mongo.users import MongoUserRepository

    return MongoUserRepository(client, database_name(settings.mongodb_uri))


def mongo_sessions(client: ManagedClient[Any], settings: Settings, clock: Clock) -> Any:
    from adapters.mongo.sessions import MongoSessionRepository

    return MongoSessionRepository(client, database_name(settings.mongodb_uri), clock)


def redis_otp(client: ManagedClient[Any]) -> Any:
    from adapters.redis.otp import RedisOtpStore

    return RedisOtpStore(client)


def redis_limiter(client: ManagedClient[Any]) -> Any:
    from adapters.redis.rate_limit import RedisRateLimiter

    return RedisRateLimiter(client)


def redis_cache(client: ManagedClient[Any]) -> Any:
    from adapters.redis.cache import RedisCache

    return RedisCache(client)


def ses_mailer(client: ManagedClient[Any], from_email: str) -> Any:
    from adapters.ses.mailer import SesMailer

    return SesMailer(client, from_email)


def mongo_files(client: ManagedClient[Any], settings: Settings, clock: Clock) -> Any:
    from adapters.mongo.files import MongoFileRepository

    return MongoFileRepository(client, database_name(settings.mongodb_uri), clock)


def mongo_rooms(client: ManagedClient[Any], settings: Settings) -> Any:
    from adapters.mongo.chat import MongoRoomRepository

    return MongoRoomRepository(client, database_name(settings.mongodb_uri))


def mongo_messages(client: ManagedClient[Any], settings: Settings) -> Any:
    from adapters.mongo.chat import MongoMessageRepository

    return MongoMessageRepository(
        client, database_name(settings.mongodb_uri), settings.message_retention_days
    )


def redis_presence(client: ManagedClient[Any], clock: Clock) -> Any:
    from adapters.redis.chat import RedisPresenceStore

    return RedisPresenceStore(client, clock)


def redis_typing(client: ManagedClient[Any]) -> Any:
    from adapters.redis.chat import RedisTypingStore

    return RedisTypingStore(client)


def s3_blobs(client: ManagedClient[Any], settings: Settings) -> Any:
    from adapters.s3.blobs import S3BlobStorage

    assert settings.s3_bucket_name is not None
    return S3BlobStorage(client, settings.s3_bucket_name)


def mongo_index_hook(*repositories: Callable[[], object]) -> Hook:
    """At warm-up: create the MongoDB indexes (unique email, session TTL, files' listing and
    pending TTL) if the repositories are MongoDB's; the memory ones have nothing to do."""

    async def ensure_indexes() -> None:
        for repository in (provide() for provide in repositories):
            ensure = getattr(repository, "ensure_indexes", None)
            if ensure is not None:
                await ensure()

    return ensure_indexes


def rollbar_reporter(settings: Settings) -> Any:
    """Errors to Rollbar; the SDK itself loads on the reporter's thread at the first error."""
    from adapters.rollbar.reporter import RollbarErrorReporter

    assert settings.rollbar_token is not None
    return RollbarErrorReporter(
        settings.rollbar_token,
        environment=settings.app_env,
        code_version=settings.version,
        endpoint=settings.rollbar_endpoint,
    )


def logtail_shipper(settings: Settings) -> Any:
    """Non-error logs to Logtail; the SDK loads when the lifecycle opens it after start."""
    from adapters.logtail.shipper import LogtailShipper

    if settings.logtail_token is None:
        return None
    return LogtailShipper(
        settings.logtail_token, host=settings.logtail_host, level=settings.log_level
    )
