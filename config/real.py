"""Builders of the real adapters. Each imports its adapter (and so its driver) only when it is
first called: odmantic, botocore, argon2 and PyJWT stay off the cold-start path."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from config.settings import Settings
from domain.chat.presence import Presence
from ports.blobs import BlobStorage
from ports.cache import Cache
from ports.chat import ClusterLink, MessageRepository, ReadMarks, RoomRepository
from ports.clock import Clock
from ports.errors import ErrorReporter
from ports.federation import IdentityStore, PendingStore
from ports.files import FileRepository
from ports.gauges import DatabaseUsage, UsageDays
from ports.images import ImageThumbnailer
from ports.mail import Mailer, MailReputationStore
from ports.otp import OtpStore
from ports.passkeys import PasskeyStore, WebAuthnVerifier
from ports.rate_limit import RateLimiter
from ports.second_factor import SecondFactorStore, TotpCodec
from ports.security import AccessTokenCodec
from ports.sessions import SessionRepository
from ports.users import UserRepository

if TYPE_CHECKING:
    from adapters.argon2.hasher import Argon2PasswordHasher
    from adapters.lifecycle import ManagedClient
    from adapters.logtail.meter import LogByteMeter
    from config.lifecycle import LogShipper

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


def argon2_hasher() -> Argon2PasswordHasher:
    """The concrete hasher: the auth benchmark reads its slots and closes its pool."""
    from adapters.argon2.hasher import Argon2PasswordHasher

    return Argon2PasswordHasher(max_concurrent=2)


def thumbnailer(settings: Settings) -> ImageThumbnailer | None:
    """Pillow's thumbnailer (imported on first use), None when THUMBNAIL_CONCURRENCY is 0."""
    if settings.thumbnail_concurrency == 0:
        return None
    from adapters.pillow.thumbnails import PillowThumbnailer

    return PillowThumbnailer(
        max_pixels=settings.thumbnail_max_pixels,
        timeout_s=settings.thumbnail_timeout_s,
        max_concurrent=settings.thumbnail_concurrency,
    )


def jwt_codec(secret: str) -> AccessTokenCodec:
    from adapters.jwt.access_tokens import JwtAccessTokenCodec

    return JwtAccessTokenCodec(secret)


def mongo_users(client: ManagedClient[Any], settings: Settings) -> UserRepository:
    from adapters.mongo.users import MongoUserRepository

    return MongoUserRepository(client, database_name(settings.mongodb_uri))


def mongo_second_factors(client: ManagedClient[Any], settings: Settings) -> SecondFactorStore:
    from adapters.mongo.second_factor import MongoSecondFactorStore

    return MongoSecondFactorStore(client, database_name(settings.mongodb_uri))


def mongo_identities(client: ManagedClient[Any], settings: Settings) -> IdentityStore:
    from adapters.mongo.identities import MongoIdentityStore

    return MongoIdentityStore(client, database_name(settings.mongodb_uri))


def redis_pending(client: ManagedClient[Any]) -> PendingStore:
    from adapters.redis.pending import RedisPendingStore

    return RedisPendingStore(client)


def mongo_passkeys(client: ManagedClient[Any], settings: Settings) -> PasskeyStore:
    from adapters.mongo.passkeys import MongoPasskeyStore

    return MongoPasskeyStore(client, database_name(settings.mongodb_uri))


def webauthn_verifier() -> WebAuthnVerifier:
    """py_webauthn (with cbor2 and cryptography) loads at the first ceremony, not at start."""
    from adapters.webauthn.verifier import PyWebAuthnVerifier

    return PyWebAuthnVerifier()


def totp_codec() -> TotpCodec:
    from adapters.pyotp.totp import PyotpCodec

    return PyotpCodec()


def mongo_sessions(
    client: ManagedClient[Any], settings: Settings, clock: Clock
) -> SessionRepository:
    from adapters.mongo.sessions import MongoSessionRepository

    return MongoSessionRepository(client, database_name(settings.mongodb_uri), clock)


def mongo_mail_reputation(client: ManagedClient[Any], settings: Settings) -> MailReputationStore:
    from adapters.mongo.reputation import MongoMailReputation

    return MongoMailReputation(client, database_name(settings.mongodb_uri))


def mongo_usage(client: ManagedClient[Any], settings: Settings) -> DatabaseUsage:
    from adapters.mongo.usage import MongoDatabaseUsage

    return MongoDatabaseUsage(client, database_name(settings.mongodb_uri))


def redis_otp(client: ManagedClient[Any]) -> OtpStore:
    from adapters.redis.otp import RedisOtpStore

    return RedisOtpStore(client)


def redis_limiter(client: ManagedClient[Any]) -> RateLimiter:
    from adapters.redis.rate_limit import RedisRateLimiter

    return RedisRateLimiter(client)


def redis_cache(client: ManagedClient[Any]) -> Cache:
    from adapters.redis.cache import RedisCache

    return RedisCache(client)


def ses_mailer(client: ManagedClient[Any], from_email: str) -> Mailer:
    from adapters.ses.mailer import SesMailer

    return SesMailer(client, from_email)


def mongo_files(client: ManagedClient[Any], settings: Settings, clock: Clock) -> FileRepository:
    from adapters.mongo.files import MongoFileRepository

    return MongoFileRepository(client, database_name(settings.mongodb_uri), clock)


def mongo_rooms(client: ManagedClient[Any], settings: Settings) -> RoomRepository:
    from adapters.mongo.chat import MongoRoomRepository

    return MongoRoomRepository(client, database_name(settings.mongodb_uri))


def mongo_reads(client: ManagedClient[Any], settings: Settings) -> ReadMarks:
    from adapters.mongo.chat import MongoReadMarks

    return MongoReadMarks(client, database_name(settings.mongodb_uri))


def mongo_messages(client: ManagedClient[Any], settings: Settings) -> MessageRepository:
    from adapters.mongo.chat import MongoMessageRepository

    return MongoMessageRepository(
        client, database_name(settings.mongodb_uri), settings.message_retention_days
    )


def socketio_cluster(presence: Presence, clock: Clock, settings: Settings) -> ClusterLink:
    from adapters.socketio.cluster import SocketIoCluster

    instance_id = settings.instance_id or uuid.uuid4().hex[:16]
    return SocketIoCluster(presence, clock, instance_id, settings.cluster_alive_s)


def s3_blobs(client: ManagedClient[Any], settings: Settings) -> BlobStorage:
    from adapters.s3.blobs import S3BlobStorage

    assert settings.s3_bucket_name is not None
    bucket = settings.s3_bucket_name
    endpoint = settings.aws_endpoint_url_s3
    public = settings.public_files_base_url or (
        f"{endpoint.rstrip('/')}/{bucket}"
        if endpoint
        else f"https://{bucket}.s3.{settings.aws_region}.amazonaws.com"
    )
    return S3BlobStorage(client, bucket, public_base_url=public)


@runtime_checkable
class Indexed(Protocol):
    """A repository whose store needs indexes made once, at warm-up (MongoDB's)."""

    async def ensure_indexes(self) -> None: ...


def mongo_index_hook(*repositories: Callable[[], object]) -> Hook:
    """At warm-up: create the MongoDB indexes (unique email, session TTL, files' listing and
    pending TTL) if the repositories are MongoDB's; the memory ones have nothing to do."""

    async def ensure_indexes() -> None:
        for repository in (provide() for provide in repositories):
            if isinstance(repository, Indexed):
                await repository.ensure_indexes()

    return ensure_indexes


def rollbar_reporter(settings: Settings) -> ErrorReporter:
    """Errors to Rollbar; the SDK itself loads on the reporter's thread at the first error."""
    from adapters.rollbar.reporter import RollbarErrorReporter

    assert settings.rollbar_token is not None
    return RollbarErrorReporter(
        settings.rollbar_token,
        environment=settings.app_env,
        code_version=settings.version,
        endpoint=settings.rollbar_endpoint,
    )


def logtail_shipper(settings: Settings) -> LogShipper | None:
    """Non-error logs to Logtail; the SDK loads when the lifecycle opens it after start."""
    from adapters.logtail.shipper import LogtailShipper

    if settings.logtail_token is None:
        return None
    return LogtailShipper(
        settings.logtail_token, host=settings.logtail_host, level=settings.log_level
    )


def log_meter(shipper: LogShipper | None, days: UsageDays, clock: Clock) -> LogByteMeter | None:
    """The shipped bytes counted per UTC day across instances; None without Logtail."""
    if shipper is None:
        return None
    from adapters.logtail.meter import LogByteMeter
    from adapters.logtail.shipper import LogtailShipper

    assert isinstance(shipper, LogtailShipper)
    meter = LogByteMeter(shipper.stats, days, clock)
    shipper.on_sent = meter.shipped
    return meter


def mongo_usage_days(client: ManagedClient[Any], settings: Settings) -> UsageDays:
    from adapters.mongo.usage_days import MongoUsageDays

    return MongoUsageDays(client, database_name(settings.mongodb_uri))
