"""The composition root: the only place that knows which adapter serves which port.

Containers declare providers and nothing else. An adapter is real wherever its service is
configured (a URL or credentials in the settings) and in memory otherwise. Tests build this
same container and override any provider.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from dependency_injector import containers, providers

from adapters.caching.users import CachedUserRepository
from adapters.disk.blobs import DiskBlobStorage, DiskProbe
from adapters.logtail.meter import LogByteMeter
from adapters.memory.blobs import MemoryBlobStorage
from adapters.memory.cache import MemoryCache
from adapters.memory.chat import (
    LoneInstance,
    MemoryMessageRepository,
    MemoryReadMarks,
    MemoryRoomRepository,
)
from adapters.memory.errors import MemoryErrorReporter
from adapters.memory.files import MemoryFileRepository
from adapters.memory.health import MemoryProbe
from adapters.memory.identities import MemoryIdentityStore, MemoryPendingStore
from adapters.memory.mail import MemoryMailer
from adapters.memory.otp import MemoryOtpStore
from adapters.memory.passkeys import MemoryPasskeyStore
from adapters.memory.rate_limit import MemoryRateLimiter
from adapters.memory.reputation import MemoryMailReputation
from adapters.memory.revocations import LoneRevocationFeed
from adapters.memory.second_factor import MemorySecondFactorStore
from adapters.memory.sessions import MemorySessionRepository
from adapters.memory.usage import MemoryDatabaseUsage, NoCommandMeter
from adapters.memory.usage_days import MemoryUsageDays, NoLogMeter
from adapters.memory.users import MemoryUserRepository
from adapters.mongo.client import MongoProbe, mongo_client
from adapters.redis.client import RedisProbe, redis_client
from adapters.redis.meter import RedisCommandMeter
from adapters.s3.client import AwsConfig, S3Probe, aws_client
from adapters.sns.signatures import HttpSnsSignatures
from adapters.socketio.broadcaster import SocketIoBroadcaster
from adapters.system.clock import SystemClock
from adapters.system.ids import RandomIdGenerator
from adapters.system.machine import ProcessMemory
from adapters.system.tasks import AsyncioBackgroundTasks
from adapters.system.turns import LocalRoomTurns
from adapters.telemetry.events import LoggingEventLog
from adapters.telemetry.throttle import ThrottledErrorReporter
from config import real
from config.federation import identity_providers, redirect_check
from config.lifecycle import Lifecycle
from config.settings import Settings
from domain.admin.access import AdminAccess
from domain.admin.gauges import FreeTierGauges
from domain.admin.model import GaugeLimits
from domain.admin.overview import AdminOverview
from domain.admin.users import AdminUsers
from domain.auth.avatars import Avatars
from domain.auth.codes import CodeMailer, EmailCodes
from domain.auth.deletion import AccountDeletion
from domain.auth.federation import FederatedSignIn
from domain.auth.login import PasswordLogin
from domain.auth.mfa import (
    SecondFactorCheck,
    SecondFactorGate,
    SecondFactorLogin,
    SecondFactorSettings,
)
from domain.auth.passkey import RelyingParty
from domain.auth.passkeys import PasskeyChallenges, PasskeyLogin, PasskeyRegistration
from domain.auth.policy import AuthPolicy
from domain.auth.principal import Authenticator
from domain.auth.profile import PeerProfiles, Profiles
from domain.auth.quota import ApiQuota
from domain.auth.registration import Registration
from domain.auth.reset import PasswordReset
from domain.auth.revocations import RevokedSessions
from domain.auth.secrets import Keyring
from domain.auth.sessions import SessionIssuer, Sessions
from domain.chat.attachments import AttachmentReader
from domain.chat.edits import EditPolicy, MessageEdits
from domain.chat.presence import Presence
from domain.chat.reads import ReadReceipts
from domain.chat.service import ChatPolicy, ChatService
from domain.files.service import FilePolicy, FileService
from domain.mail.reputation import MailReputation
from domain.mail.sns import SesNotifications, SnsPolicy
from ports.gauges import LogMeter

type Profile = Literal["real", "memory"]
type StorageProfile = Literal["real", "disk", "memory"]

# Where the app serves the memory blob storage's presigned URLs (entrypoints/http/blobs.py).
MEMORY_BLOB_PATH = "/api/v1/files/blob"


# RELAXED_LIMITS (development only; the settings refuse it in production): one address may sign
# up and try logins this often, so repeated end-to-end runs from localhost never meet the limit.
# The per-account limits (failed logins, codes, their cooldown) stay as they are.
RELAXED_PER_ADDRESS_LIMIT = 1_000_000


def _auth_policy(s: Settings) -> AuthPolicy:
    if not s.relaxed_limits:
        return AuthPolicy(
            mail_requests_per_ip_per_hour=s.code_mails_per_ip_per_hour,
            mail_requests_per_hour=s.code_mails_per_hour,
            api_requests_per_minute=s.api_requests_per_minute,
        )
    return AuthPolicy(
        mail_requests_per_ip_per_hour=RELAXED_PER_ADDRESS_LIMIT,
        mail_requests_per_hour=s.code_mails_per_hour,
        login_attempts_per_ip_per_minute=RELAXED_PER_ADDRESS_LIMIT,
        api_requests_per_minute=s.api_requests_per_minute,
    )


def _relying_party(s: Settings) -> RelyingParty:
    return RelyingParty(id=s.webauthn_rp_id, name="FlowHub", origins=s.webauthn_origins)


def _sns_policy(s: Settings) -> SnsPolicy:
    return SnsPolicy(
        topic_arn=s.ses_sns_topic_arn,
        host_pattern=s.ses_sns_cert_hosts,
        allow_http=s.ses_sns_allow_http,
    )


def _profile(configured: bool) -> Profile:
    return "real" if configured else "memory"


def _storage_profile(s: Settings) -> StorageProfile:
    if s.uses_s3:
        return "real"
    return "disk" if s.uses_disk_files else "memory"


def _files_dir(s: Settings) -> Path:
    assert s.files_dir is not None
    return Path(s.files_dir)


def _mongo(s: Settings) -> object | None:
    return mongo_client(s.mongodb_uri, s.health_check_timeout_s * 2) if s.mongodb_uri else None


def _redis_meter(s: Settings) -> RedisCommandMeter | None:
    return RedisCommandMeter(SystemClock()) if s.redis_url else None


def _or_no_log_meter(meter: LogByteMeter | None) -> LogMeter:
    return meter if meter is not None else NoLogMeter()


def _redis(s: Settings, meter: RedisCommandMeter | None) -> object | None:
    return redis_client(s.redis_url, s.health_check_timeout_s, meter) if s.redis_url else None


def _s3(s: Settings) -> object | None:
    if not s.uses_s3:
        return None
    return aws_client(
        "s3",
        AwsConfig(
            s.aws_region,
            s.aws_access_key_id,
            s.aws_secret_access_key,
            s.aws_endpoint_url_s3,
            s.health_check_timeout_s * 2,
        ),
    )


def _ses(s: Settings) -> object | None:
    if not s.uses_ses:
        return None
    return aws_client(
        "ses",
        AwsConfig(
            s.aws_ses_region or s.aws_region,
            s.aws_access_key_id,
            s.aws_secret_access_key,
            s.aws_endpoint_url_ses,
            s.health_check_timeout_s * 2,
        ),
    )


class Clients(containers.DeclarativeContainer):
    """Clients of external services; `None` where the service is not configured."""

    settings = providers.Dependency(instance_of=Settings)
    mongo = providers.Singleton(_mongo, settings)
    # counts what the client sends, for the admin gauge (adapters/redis/meter.py)
    redis_meter = providers.Singleton(_redis_meter, settings)
    redis = providers.Singleton(_redis, settings, redis_meter)
    s3 = providers.Singleton(_s3, settings)
    ses = providers.Singleton(_ses, settings)


class Adapters(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clients = providers.DependenciesContainer()

    # Which adapter serves a port: "real" once its service is configured, "memory" otherwise.
    mongo_profile = providers.Callable(lambda s: _profile(s.uses_mongo), settings)
    redis_profile = providers.Callable(lambda s: _profile(s.uses_redis), settings)
    storage_profile = providers.Callable(_storage_profile, settings)
    ses_profile = providers.Callable(lambda s: _profile(s.uses_ses), settings)
    rollbar_profile = providers.Callable(lambda s: _profile(s.uses_rollbar), settings)

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(RandomIdGenerator)

    # Telemetry: errors go to Rollbar (or memory) behind the quota guard; non-error logs go to
    # stdout and, with LOGTAIL_TOKEN, to Logtail (`None` otherwise). Neither SDK is imported
    # here: the reporter loads pyrollbar at the first error, the lifecycle opens the shipper.
    events = providers.Singleton(LoggingEventLog)
    error_sink = providers.Selector(
        rollbar_profile,
        real=providers.Singleton(real.rollbar_reporter, settings),
        memory=providers.Singleton(MemoryErrorReporter),
    )
    errors = providers.Singleton(
        ThrottledErrorReporter,
        error_sink,
        clock,
        daily_budget=settings.provided.error_budget_per_day,
    )
    log_shipper = providers.Singleton(real.logtail_shipper, settings)

    tasks = providers.Singleton(AsyncioBackgroundTasks, reporter=errors)
    hasher = providers.Singleton(real.argon2_hasher)
    thumbnailer = providers.Singleton(real.thumbnailer, settings)
    tokens = providers.Singleton(real.jwt_codec, settings.provided.jwt_secret)

    # Real adapters are built by functions in config/real.py that import their drivers only
    # when first called, so no cold start and no `GET /health` pays for odmantic or botocore.
    users = providers.Selector(
        mongo_profile,
        real=providers.Singleton(real.mongo_users, clients.mongo, settings),
        memory=providers.Singleton(MemoryUserRepository),
    )
    sessions = providers.Selector(
        mongo_profile,
        real=providers.Singleton(real.mongo_sessions, clients.mongo, settings, clock),
        memory=providers.Singleton(MemorySessionRepository, clock),
    )
    second_factors = providers.Selector(
        mongo_profile,
        real=providers.Singleton(real.mongo_second_factors, clients.mongo, settings),
        memory=providers.Singleton(MemorySecondFactorStore),
    )
    totp = providers.Singleton(real.totp_codec)
    # provider sign-in: linked identities, and the states and exchange codes under way
    identities = providers.Selector(
        mongo_profile,
        real=providers.Singleton(real.mongo_identities, clients.mongo, settings),
        memory=providers.Singleton(MemoryIdentityStore),
    )
    pending = providers.Selector(
        redis_profile,
        real=providers.Singleton(real.redis_pending, clients.redis),
        memory=providers.Singleton(MemoryPendingStore, clock),
    )
    passkeys = providers.Selector(
        mongo_profile,
        real=providers.Singleton(real.mongo_passkeys, clients.mongo, settings),
        memory=providers.Singleton(MemoryPasskeyStore),
    )
    webauthn = providers.Singleton(real.webauthn_verifier)
    otp = providers.Selector(
        redis_profile,
        real=providers.Singleton(real.redis_otp, clients.redis),
        memory=providers.Singleton(MemoryOtpStore, clock),
    )
    limiter = providers.Selector(
        redis_profile,
        real=providers.Singleton(real.redis_limiter, clients.redis),
        memory=providers.Singleton(MemoryRateLimiter, clock),
    )
    # Limits that guard this instance's work, not an account: counted in this process, with
    # no Redis command (docs/decisions/redis-budget.md). Each instance enforces its own.
    local_limiter = providers.Singleton(MemoryRateLimiter, clock)
    cache = providers.Selector(
        redis_profile,
        real=providers.Singleton(real.redis_cache, clients.redis),
        memory=providers.Singleton(MemoryCache, clock),
    )
    # With Redis configured, no user cache: a MongoDB read by id costs no money on Atlas and
    # about the round trip of a Redis GET, and a copy kept in each instance would need
    # invalidations that can be lost (stale password hashes and verification states); the
    # Redis copy cost commands and held password hashes (docs/decisions/redis-budget.md).
    # In memory (development), reads by id go through the cache as they did.
    cached_users = providers.Selector(
        redis_profile,
        real=users,
        memory=providers.Singleton(CachedUserRepository, users, cache),
    )
    mailer = providers.Selector(
        ses_profile,
        real=providers.Singleton(real.ses_mailer, clients.ses, settings.provided.from_email),
        memory=providers.Singleton(MemoryMailer, clock),
    )
    # the suppression list and the daily mail counters (README "Mail reputation")
    mail_reputation = providers.Selector(
        mongo_profile,
        real=providers.Singleton(real.mongo_mail_reputation, clients.mongo, settings),
        memory=providers.Singleton(MemoryMailReputation),
    )
    sns_policy = providers.Singleton(_sns_policy, settings)
    sns_signatures = providers.Singleton(HttpSnsSignatures, sns_policy, clock)
    files = providers.Selector(
        mongo_profile,
        real=providers.Singleton(real.mongo_files, clients.mongo, settings, clock),
        memory=providers.Singleton(MemoryFileRepository, clock),
    )
    blobs = providers.Selector(
        storage_profile,
        real=providers.Singleton(real.s3_blobs, clients.s3, settings),
        # FILES_DIR without S3 (make dev): the memory adapter's signed URLs, objects in files
        disk=providers.Singleton(
            DiskBlobStorage,
            providers.Callable(_files_dir, settings),
            settings.provided.jwt_secret,
            clock,
            MEMORY_BLOB_PATH,
        ),
        memory=providers.Singleton(
            MemoryBlobStorage, settings.provided.jwt_secret, clock, MEMORY_BLOB_PATH
        ),
    )

    reads = providers.Selector(
        mongo_profile,
        real=providers.Singleton(real.mongo_reads, clients.mongo, settings),
        memory=providers.Singleton(MemoryReadMarks),
    )
    rooms = providers.Selector(
        mongo_profile,
        real=providers.Singleton(real.mongo_rooms, clients.mongo, settings),
        memory=providers.Singleton(MemoryRoomRepository),
    )
    messages = providers.Selector(
        mongo_profile,
        real=providers.Singleton(real.mongo_messages, clients.mongo, settings),
        memory=providers.Singleton(MemoryMessageRepository),
    )
    # Who is online, in this instance's memory; with Redis, the other instances are heard
    # (and tell theirs) through the cluster link, attached to the Socket.IO manager by
    # entrypoints/realtime/server.py, as the broadcaster is attached to its server.
    presence = providers.Singleton(Presence)
    cluster = providers.Selector(
        redis_profile,
        real=providers.Singleton(real.socketio_cluster, presence, clock, settings),
        memory=providers.Singleton(LoneInstance),
    )
    broadcaster = providers.Singleton(SocketIoBroadcaster, presence)
    # Session revocations reach the other instances over the same link (pushed, no read per
    # request); alone, the instance's own memory is all there is.
    revocation_feed = providers.Selector(
        redis_profile, real=cluster, memory=providers.Singleton(LoneRevocationFeed)
    )

    mongo_probe = providers.Selector(
        mongo_profile,
        real=providers.Singleton(MongoProbe, clients.mongo),
        memory=providers.Singleton(MemoryProbe, "mongo"),
    )
    redis_probe = providers.Selector(
        redis_profile,
        real=providers.Singleton(RedisProbe, clients.redis),
        memory=providers.Singleton(MemoryProbe, "redis"),
    )
    storage_probe = providers.Selector(
        storage_profile,
        real=providers.Singleton(S3Probe, clients.s3, settings.provided.s3_bucket_name),
        disk=providers.Singleton(DiskProbe, blobs),
        memory=providers.Singleton(MemoryProbe, "storage"),
    )
    probes = providers.List(mongo_probe, redis_probe, storage_probe)

    # The admin gauges' sources (domain/admin/gauges.py)
    database_usage = providers.Selector(
        mongo_profile,
        real=providers.Singleton(real.mongo_usage, clients.mongo, settings),
        memory=providers.Singleton(MemoryDatabaseUsage, users, sessions, files, rooms, messages),
    )
    machine_memory = providers.Singleton(ProcessMemory, settings.provided.memory_limit_bytes)
    command_meter = providers.Selector(
        redis_profile, real=clients.redis_meter, memory=providers.Singleton(NoCommandMeter)
    )
    # the bytes shipped to Logtail per UTC day, every instance's (adapters/logtail/meter.py):
    # None without LOGTAIL_TOKEN, and the gauge then reads 0
    usage_days = providers.Selector(
        mongo_profile,
        real=providers.Singleton(real.mongo_usage_days, clients.mongo, settings),
        memory=providers.Singleton(MemoryUsageDays),
    )
    log_meter = providers.Singleton(real.log_meter, log_shipper, usage_days, clock)
    log_gauge = providers.Singleton(_or_no_log_meter, log_meter)


class Services(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    adapters = providers.DependenciesContainer()

    # Auth: one use case per flow, each given only the ports it uses.
    auth_policy = providers.Singleton(_auth_policy, settings)
    keyring = providers.Singleton(Keyring, settings.provided.jwt_refresh_secret)
    revoked_sessions = providers.Singleton(
        RevokedSessions, adapters.revocation_feed, adapters.clock, adapters.tokens.provided.ttl_s
    )
    authenticator = providers.Singleton(
        Authenticator, adapters.tokens, adapters.clock, revoked_sessions
    )
    # counted in the process: it guards each instance's work, not an account (redis-budget.md)
    api_quota = providers.Singleton(
        ApiQuota, adapters.local_limiter, auth_policy.provided.api_requests_per_minute
    )
    files = providers.Singleton(
        FileService,
        files=adapters.files,
        blobs=adapters.blobs,
        # the hourly upload rate guards each instance's work (the storage quota, exact, is
        # MongoDB's): counted in the process (redis-budget.md)
        limiter=adapters.local_limiter,
        tasks=adapters.tasks,
        clock=adapters.clock,
        ids=adapters.ids,
        events=adapters.events,
        policy=providers.Singleton(
            FilePolicy,
            max_upload_bytes=settings.provided.max_upload_bytes,
            multipart_max_bytes=settings.provided.multipart_max_bytes,
            allowed_types=settings.provided.allowed_content_types,
            quota_bytes=settings.provided.storage_quota_bytes,
            quota_files=settings.provided.storage_quota_files,
            uploads_per_hour=settings.provided.uploads_per_hour,
        ),
        thumbnailer=adapters.thumbnailer,
    )
    # the avatar's URL is worked out from the file's record at each read (one files read per
    # page of profiles), so the cached user never holds a URL that could go stale
    avatars = providers.Singleton(Avatars, files)
    profiles = providers.Singleton(Profiles, adapters.cached_users, adapters.clock, avatars)
    # GET /users?ids=: two rooms reads, one users read (get_many goes to the store either
    # way), one files read when any of them has an avatar

    session_issuer = providers.Singleton(
        SessionIssuer,
        users=adapters.users,
        sessions=adapters.sessions,
        tokens=adapters.tokens,
        keys=keyring,
        clock=adapters.clock,
        ids=adapters.ids,
        events=adapters.events,
        policy=auth_policy,
        revoked=revoked_sessions,
        avatars=avatars,  # a token pair's user shows their avatar as GET /users/me does
    )
    # bounces, complaints and sends per day; `rates()` is the operator's view (admin console)
    mail_reputation = providers.Singleton(
        MailReputation, store=adapters.mail_reputation, keys=keyring, clock=adapters.clock
    )
    ses_notifications = providers.Singleton(
        SesNotifications,
        policy=adapters.sns_policy,
        signatures=adapters.sns_signatures,
        reputation=mail_reputation,
        clock=adapters.clock,
        events=adapters.events,
    )
    code_mailer = providers.Singleton(
        CodeMailer,
        reputation=mail_reputation,
        users=adapters.users,
        otp=adapters.otp,
        limiter=adapters.limiter,
        mailer=adapters.mailer,
        tasks=adapters.tasks,
        keys=keyring,
        events=adapters.events,
        policy=auth_policy,
    )
    registration = providers.Singleton(
        Registration,
        users=adapters.users,
        hasher=adapters.hasher,
        code_mailer=code_mailer,
        clock=adapters.clock,
        ids=adapters.ids,
        events=adapters.events,
        policy=auth_policy,
    )
    second_factor_check = providers.Singleton(
        SecondFactorCheck,
        factors=adapters.second_factors,
        otp=adapters.otp,
        totp=adapters.totp,
        keys=keyring,
        clock=adapters.clock,
        events=adapters.events,
        policy=auth_policy,
    )
    second_factor_gate = providers.Singleton(
        SecondFactorGate,
        factors=adapters.second_factors,
        issuer=session_issuer,
        keys=keyring,
        clock=adapters.clock,
        events=adapters.events,
        policy=auth_policy,
    )
    # Passkeys (README "Passkeys"): stateless challenges, no Redis command
    relying_party = providers.Singleton(_relying_party, settings)
    passkey_challenges = providers.Singleton(
        PasskeyChallenges,
        passkeys=adapters.passkeys,
        verifier=adapters.webauthn,
        rp=relying_party,
        keys=keyring,
        clock=adapters.clock,
        events=adapters.events,
    )
    passkey_registration = providers.Singleton(
        PasskeyRegistration,
        users=adapters.cached_users,
        passkeys=adapters.passkeys,
        challenges=passkey_challenges,
        verifier=adapters.webauthn,
        rp=relying_party,
        clock=adapters.clock,
        ids=adapters.ids,
        events=adapters.events,
    )
    passkey_login = providers.Singleton(
        PasskeyLogin,
        users=adapters.users,
        passkeys=adapters.passkeys,
        challenges=passkey_challenges,
        verifier=adapters.webauthn,
        rp=relying_party,
        issuer=session_issuer,
        gate=second_factor_gate,
        keys=keyring,
        clock=adapters.clock,
        mfa_challenge_ttl_s=auth_policy.provided.mfa_challenge_ttl_s,
    )
    second_factor_login = providers.Singleton(
        SecondFactorLogin,
        users=adapters.users,
        factors=adapters.second_factors,
        check=second_factor_check,
        issuer=session_issuer,
        keys=keyring,
        clock=adapters.clock,
        policy=auth_policy,
        passkeys=passkey_login,  # a passkey completes a challenge as a code does
    )
    second_factor_settings = providers.Singleton(
        SecondFactorSettings,
        users=adapters.cached_users,
        factors=adapters.second_factors,
        check=second_factor_check,
        totp=adapters.totp,
        hasher=adapters.hasher,
        limiter=adapters.limiter,
        keys=keyring,
        events=adapters.events,
        policy=auth_policy,
    )
    federation = providers.Singleton(
        FederatedSignIn,
        providers=providers.Singleton(identity_providers, settings),
        identities=adapters.identities,
        pending=adapters.pending,
        users=adapters.users,
        gate=second_factor_gate,
        clock=adapters.clock,
        ids=adapters.ids,
        events=adapters.events,
        redirect_allowed=providers.Singleton(redirect_check, settings),
        local_limiter=adapters.local_limiter,
    )
    password_login = providers.Singleton(
        PasswordLogin,
        users=adapters.users,
        hasher=adapters.hasher,
        limiter=adapters.limiter,
        events=adapters.events,
        gate=second_factor_gate,
        keys=keyring,
        policy=auth_policy,
    )
    email_codes = providers.Singleton(
        EmailCodes,
        users=adapters.cached_users,
        otp=adapters.otp,
        code_mailer=code_mailer,
        gate=second_factor_gate,
        keys=keyring,
        clock=adapters.clock,
        ids=adapters.ids,
        events=adapters.events,
        policy=auth_policy,
    )
    password_reset = providers.Singleton(
        PasswordReset,
        users=adapters.cached_users,
        sessions=adapters.sessions,
        otp=adapters.otp,
        hasher=adapters.hasher,
        limiter=adapters.limiter,
        keys=keyring,
        clock=adapters.clock,
        events=adapters.events,
        revoked=revoked_sessions,
    )
    sessions = providers.Singleton(
        Sessions,
        sessions=adapters.sessions,
        issuer=session_issuer,
        keys=keyring,
        clock=adapters.clock,
        events=adapters.events,
        policy=auth_policy,
        revoked=revoked_sessions,
    )

    chat = providers.Singleton(
        ChatService,
        rooms=adapters.rooms,
        messages=adapters.messages,
        presence=adapters.presence,
        cluster=adapters.cluster,
        broadcaster=adapters.broadcaster,
        users=adapters.users,
        limiter=adapters.local_limiter,
        tasks=adapters.tasks,
        clock=adapters.clock,
        ids=adapters.ids,
        reads=providers.Singleton(
            ReadReceipts,
            adapters.reads,
            adapters.broadcaster,
            adapters.clock,
            adapters.tasks,
        ),
        turns=providers.Singleton(LocalRoomTurns),
        address_key=keyring.provided.email_key,
        policy=providers.Singleton(
            ChatPolicy,
            rooms_per_hour=settings.provided.rooms_per_hour,
            invitations_per_hour=settings.provided.invitations_per_hour,
        ),
        files=adapters.files,
    )

    attachments = providers.Singleton(
        AttachmentReader, rooms=adapters.rooms, messages=adapters.messages, files=files
    )

    # DELETE /users/me: the user record goes last, through the same cache as its reads
    account_deletion = providers.Singleton(
        AccountDeletion,
        users=adapters.cached_users,
        hasher=adapters.hasher,
        limiter=adapters.limiter,
        otp=adapters.otp,
        factors=adapters.second_factors,
        identities=adapters.identities,
        sessions=sessions,
        chat=chat,
        files=files,
        keys=keyring,
        events=adapters.events,
        policy=auth_policy,
        codes=email_codes,
        code_mailer=code_mailer,
        passkeys=adapters.passkeys,
        passkey_challenges=passkey_challenges,
    )

    # The admin API (README "Administration"): refused with 404 to all but ADMIN_EMAILS
    admin_access = providers.Singleton(AdminAccess, adapters.users, settings.provided.admin_emails)
    admin_users = providers.Singleton(
        AdminUsers,
        users=adapters.cached_users,
        session_store=adapters.sessions,
        sessions=sessions,
        deletion=account_deletion,
        clock=adapters.clock,
        events=adapters.events,
    )
    admin_overview = providers.Singleton(
        AdminOverview,
        rooms=adapters.rooms,
        files=adapters.files,
        mail=mail_reputation,
        events=adapters.events,
    )
    gauges = providers.Singleton(
        FreeTierGauges,
        database=adapters.database_usage,
        files=adapters.files,
        memory=adapters.machine_memory,
        meter=adapters.command_meter,
        errors=adapters.errors,
        logs=adapters.log_gauge,
        clock=adapters.clock,
        events=adapters.events,
        limits=providers.Singleton(
            GaugeLimits,
            mongo_bytes=settings.provided.mongodb_storage_limit_bytes,
            s3_bytes=settings.provided.s3_storage_limit_bytes,
            redis_commands_per_month=settings.provided.redis_commands_per_month,
            error_reports_per_day=settings.provided.error_budget_per_day,
            log_bytes_per_day=settings.provided.log_bytes_per_day,
        ),
    )

    peer_profiles = providers.Singleton(
        PeerProfiles, adapters.users, adapters.rooms, avatars, chat.provided.invitations
    )

    message_edits = providers.Singleton(
        MessageEdits,
        rooms=adapters.rooms,
        messages=adapters.messages,
        broadcaster=adapters.broadcaster,
        clock=adapters.clock,
        policy=providers.Factory(EditPolicy, edit_window_s=settings.provided.message_edit_window_s),
        files=adapters.files,
    )


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clients = providers.Container(Clients, settings=settings)
    adapters = providers.Container(Adapters, settings=settings, clients=clients)
    services = providers.Container(Services, settings=settings, adapters=adapters)

    # MongoDB and Redis open right after the server starts serving; AWS clients on first use.
    lifecycle = providers.Singleton(
        Lifecycle,
        warm=providers.List(clients.mongo, clients.redis),
        lazy=providers.List(clients.s3, clients.ses),
        close_timeout_s=settings.provided.shutdown_timeout_s,
        tasks=adapters.tasks,
        errors=adapters.errors,
        log_shipper=adapters.log_shipper,
        log_meter=adapters.log_meter,
        warm_hooks=providers.List(
            providers.Callable(
                real.mongo_index_hook,
                adapters.users.provider,
                adapters.sessions.provider,
                adapters.files.provider,
                adapters.rooms.provider,
                adapters.reads.provider,
                adapters.messages.provider,
                adapters.identities.provider,
                adapters.passkeys.provider,
            )
        ),
    )


def build_container(settings: Settings) -> Container:
    container = Container(settings=providers.Object(settings))
    container.check_dependencies()
    return container
