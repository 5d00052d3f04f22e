"""The composition root: the only place that knows which adapter serves which port.

Containers declare providers and nothing else. An adapter is real wherever its service is
configured (a URL or credentials in the settings) and in memory otherwise. Tests build this
same container and override any provider.
"""

from __future__ import annotations

from typing import Literal

from dependency_injector import containers, providers

from adapters.memory.health import MemoryProbe
from adapters.mongo.client import MongoProbe, mongo_client
from adapters.redis.client import RedisProbe, redis_client
from adapters.s3.client import AwsConfig, S3Probe, aws_client
from adapters.system.clock import SystemClock
from config.lifecycle import Lifecycle
from config.settings import Settings

type Profile = Literal["real", "memory"]


def _profile(configured: bool) -> Profile:
    return "real" if configured else "memory"


def _mongo(s: Settings) -> object | None:
    return mongo_client(s.mongodb_uri, s.health_check_timeout_s * 2) if s.mongodb_uri else None


def _redis(s: Settings) -> object | None:
    return redis_client(s.redis_url, s.health_check_timeout_s) if s.redis_url else None


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
    redis = providers.Singleton(_redis, settings)
    s3 = providers.Singleton(_s3, settings)
    ses = providers.Singleton(_ses, settings)


class Adapters(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clients = providers.DependenciesContainer()

    clock = providers.Singleton(SystemClock)

    mongo_probe = providers.Selector(
        providers.Callable(lambda s: _profile(s.uses_mongo), settings),
        real=providers.Singleton(MongoProbe, clients.mongo),
        memory=providers.Singleton(MemoryProbe, "mongo"),
    )
    redis_probe = providers.Selector(
        providers.Callable(lambda s: _profile(s.uses_redis), settings),
        real=providers.Singleton(RedisProbe, clients.redis),
        memory=providers.Singleton(MemoryProbe, "redis"),
    )
    storage_probe = providers.Selector(
        providers.Callable(lambda s: _profile(s.uses_s3), settings),
        real=providers.Singleton(S3Probe, clients.s3, settings.provided.s3_bucket_name),
        memory=providers.Singleton(MemoryProbe, "storage"),
    )
    probes = providers.List(mongo_probe, redis_probe, storage_probe)


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clients = providers.Container(Clients, settings=settings)
    adapters = providers.Container(Adapters, settings=settings, clients=clients)

    # MongoDB and Redis open right after the server starts serving; AWS clients on first use.
    lifecycle = providers.Singleton(
        Lifecycle,
        warm=providers.List(clients.mongo, clients.redis),
        lazy=providers.List(clients.s3, clients.ses),
        close_timeout_s=settings.provided.shutdown_timeout_s,
    )


def build_container(settings: Settings) -> Container:
    container = Container(settings=providers.Object(settings))
    container.check_dependencies()
    return container
