"""pytest plugin: real Redis, MongoDB and S3/SES for the tests that ask for them.

Loaded for every run by ``-p tests.support.services`` (pyproject ``addopts``), so it must stay
cheap: the drivers, docker, testcontainers, moto and mongoeco are imported only when a test
requests a service fixture, and a service is started only then, once per session, and stopped
when the session ends. Unit-only runs start and import nothing.

Where a service comes from, first match wins:

=========  ==========================  ======================  ==================================
service    1. environment              2. Docker answers       3. started by the session
=========  ==========================  ======================  ==================================
redis      ``TEST_REDIS_URL``          testcontainers redis:7  ``redis-server`` on a free loopback
                                                               port (no persistence)
mongodb    ``TEST_MONGODB_URI``        testcontainers mongo:7  mongoeco's wire server in its own
                                                               process (``mongoeco_server.py``)
s3/ses     ``TEST_AWS_ENDPOINT_URL``   (not used)              moto's server in its own process
                                                               (``moto_server.py``)
=========  ==========================  ======================  ==================================

The local processes are the ones the fault tests and the benchmarks start too
(``tests/support/provision.py``). If a container fails to start, the local process is tried
next. A URL from the environment is never second-guessed: when it does not answer, the tests
that need it fail. Nothing is ever skipped: a missing service fails its tests with a message
saying how to provide one.

Fixtures
    ``redis_url``, ``mongodb_uri``, ``aws_endpoint_url`` (session): the service's URL.
    ``redis_client`` (function, async): a ``redis.asyncio.Redis`` on ``redis_url``; the database
    is flushed (FLUSHDB) before the test, so point ``TEST_REDIS_URL`` at a database you can lose.
    ``mongo_db_name`` (function): a database name unique to the test; dropped after it.
    ``aws_credentials`` (function): dummy credentials (also set in the environment for the test)
    as keyword arguments for ``session.create_client(...)``.

The pure decision logic (``plan_service``, ``redact_url``, ``header_line``) takes its inputs as
arguments so that ``tests/unit/test_service_resolution.py`` tests it without processes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import uuid4

import pytest
import pytest_asyncio

if TYPE_CHECKING:
    from _pytest.terminal import TerminalReporter
    from pymongo import MongoClient
    from redis.asyncio import Redis
    from testcontainers.core.container import DockerContainer

# --------------------------------------------------------------------------------------------
# Pure decision logic: no I/O, no imports of the service libraries.
# --------------------------------------------------------------------------------------------


class Source(StrEnum):
    """Where a service comes from."""

    ENV = "env"
    TESTCONTAINERS = "testcontainers"
    LOCAL = "local"


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """What the plugin knows about one service, independent of this machine."""

    key: str
    label: str
    env_var: str
    example_url: str
    image: str | None  # the testcontainers image; None: no container path for this service
    local_label: str
    local_hint: str  # how to make the local path available

    def unavailable_message(self) -> str:
        ways = [f"set {self.env_var}={self.example_url}"]
        if self.image is not None:
            ways.append(f"start Docker (testcontainers then runs {self.image})")
        ways.append(self.local_hint)
        return f"No {self.label} for the tests: {', or '.join(ways)}."


REDIS = ServiceSpec(
    key="redis",
    label="redis",
    env_var="TEST_REDIS_URL",
    example_url="redis://...",
    image="redis:7",
    local_label="local redis-server",
    local_hint=(
        "apt-get install redis-server (`make services` does; macOS: brew install redis) so "
        "the session starts redis-server on a free 127.0.0.1 port"
    ),
)
MONGODB = ServiceSpec(
    key="mongodb",
    label="mongodb",
    env_var="TEST_MONGODB_URI",
    example_url="mongodb://...",
    image="mongo:7",
    local_label="local mongoeco wire server",
    local_hint=(
        "pip install mongoeco (the dev dependency group has it: "
        "`uv sync --frozen`, which `make test` runs) so the session starts its wire server"
    ),
)
AWS = ServiceSpec(
    key="aws",
    label="s3/ses",
    env_var="TEST_AWS_ENDPOINT_URL",
    example_url="http://127.0.0.1:5000",
    image=None,
    local_label="local moto server",
    local_hint=(
        'pip install "moto[s3]" flask flask-cors (the dev dependency group has them: '
        "`uv sync --frozen`) so the session starts moto's server"
    ),
)
SERVICES: tuple[ServiceSpec, ...] = (REDIS, MONGODB, AWS)


@dataclass(frozen=True, slots=True)
class ServicePlan:
    """The sources that will be tried for a service, in order; empty: none is available."""

    spec: ServiceSpec
    candidates: tuple[Source, ...]
    env_url: str | None = None

    def describe(self) -> str:
        """The service's part of the report header."""
        if not self.candidates:
            return f"UNAVAILABLE (its tests will fail; set {self.spec.env_var})"
        first = self.candidates[0]
        if first is Source.ENV:
            assert self.env_url is not None
            return f"{self.spec.env_var} {redact_url(self.env_url)}"
        if first is Source.TESTCONTAINERS:
            text = f"testcontainers {self.spec.image} (started on first use"
            if Source.LOCAL in self.candidates:
                text += f"; else {self.spec.local_label}"
            return text + ")"
        return f"{self.spec.local_label} (started on first use)"


def plan_service(
    spec: ServiceSpec,
    environ: Mapping[str, str],
    *,
    docker_available: Callable[[], bool],
    local_available: bool,
) -> ServicePlan:
    """Decide where a service comes from.

    A URL in the environment wins and excludes everything else (``docker_available`` is then
    not even called, so the Docker probe is skipped). Otherwise a container where Docker
    answers, then the local process; both, when both are possible, so that a container that
    fails to start falls back to the local process.
    """
    env_url = environ.get(spec.env_var, "").strip()
    if env_url:
        return ServicePlan(spec, (Source.ENV,), env_url)
    candidates: list[Source] = []
    if spec.image is not None and docker_available():
        candidates.append(Source.TESTCONTAINERS)
    if local_available:
        candidates.append(Source.LOCAL)
    return ServicePlan(spec, tuple(candidates))


_SECRET_QUERY_KEYS = frozenset({"password", "pass", "pwd", "secret", "token"})


def redact_url(url: str) -> str:
    """The URL without its password (``user:***@host``), also in ``?password=`` parameters."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        user, colon, password = userinfo.partition(":")
        if colon and password:
            netloc = f"{user}:***@{hosts}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key.lower() in _SECRET_QUERY_KEYS for key, _ in pairs):
            query = urlencode(
                [(k, "***" if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in pairs],
                safe="*",
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def header_line(plans: Iterable[ServicePlan]) -> str:
    return "services: " + ", ".join(f"{p.spec.label}={p.describe()}" for p in plans)


@dataclass(slots=True)
class UsedService:
    """What served a service in this session, and how long it took to start and stop."""

    description: str
    start_seconds: float
    failed_before: tuple[str, ...] = ()  # candidates that failed to start first
    stop_seconds: float | None = None

    def describe(self) -> str:
        timing = f"up in {self.start_seconds:.2f} s"
        if self.stop_seconds is not None:
            timing += f", down in {self.stop_seconds:.2f} s"
        if self.failed_before:
            timing += "; after " + "; ".join(self.failed_before)
        return f"{self.description} ({timing})"


def summary_line(used: Mapping[str, UsedService]) -> str:
    return "services used: " + ", ".join(f"{key}={u.describe()}" for key, u in used.items())


def docker_engine_hinted(
    environ: Mapping[str, str],
    *,
    home: Path,
    exists: Callable[[Path], bool],
    platform: str = sys.platform,
) -> bool:
    """Whether a Docker engine might answer, judged without importing docker or connecting.

    Importing the Docker SDK costs ~0.3 s, which every pytest run would pay for the report
    header. Where no socket, no ``DOCKER_HOST``, no testcontainers or docker CLI configuration
    exists, no engine can answer and the probe is skipped. Anything else gets a real ping.
    """
    if platform == "win32":
        return True
    if any(environ.get(name) for name in ("DOCKER_HOST", "TC_HOST", "DOCKER_CONTEXT")):
        return True
    docker_config = Path(environ["DOCKER_CONFIG"]) if environ.get("DOCKER_CONFIG") else None
    candidates = [
        Path("/var/run/docker.sock"),
        home / ".testcontainers.properties",
        (docker_config or home / ".docker") / "config.json",
    ]
    return any(exists(path) for path in candidates)


# --------------------------------------------------------------------------------------------
# Probes and the per-session registry.
# --------------------------------------------------------------------------------------------


def docker_engine_answers(timeout: float = 2.0) -> bool:
    """Ping the Docker engine that testcontainers would use; False on any failure."""
    if not docker_engine_hinted(os.environ, home=Path.home(), exists=Path.exists):
        return False
    try:
        import docker  # type: ignore[import-untyped]
        from testcontainers.core.docker_client import get_docker_host
    except ImportError:
        return False
    try:
        host = get_docker_host()
        if host:
            client = docker.DockerClient(
                base_url=host, timeout=timeout, use_ssh_client=host.startswith("ssh://")
            )
        else:
            client = docker.from_env(timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # DockerException, requests' errors, a bad DOCKER_HOST: no engine
        return False


def local_available(spec: ServiceSpec) -> bool:
    """Whether this machine can start the service itself (cheap: no imports, no processes)."""
    if spec is REDIS:
        return shutil.which("redis-server") is not None
    if spec is MONGODB:
        return importlib.util.find_spec("mongoeco") is not None
    return all(importlib.util.find_spec(name) for name in ("moto", "flask", "flask_cors"))


@dataclass(slots=True)
class ServiceRegistry:
    """Per-session state: the plans (decided once) and what actually served each service."""

    environ: Mapping[str, str]
    probe_docker: Callable[[], bool] = docker_engine_answers
    _docker: bool | None = None
    _plans: dict[str, ServicePlan] = field(default_factory=dict)
    used: dict[str, UsedService] = field(default_factory=dict)

    def docker_available(self) -> bool:
        if self._docker is None:
            self._docker = self.probe_docker()
        return self._docker

    def plan(self, spec: ServiceSpec) -> ServicePlan:
        if spec.key not in self._plans:
            self._plans[spec.key] = plan_service(
                spec,
                self.environ,
                docker_available=self.docker_available,
                local_available=local_available(spec),
            )
        return self._plans[spec.key]


_REGISTRY = pytest.StashKey[ServiceRegistry]()


def _registry(config: pytest.Config) -> ServiceRegistry:
    if _REGISTRY not in config.stash:
        config.stash[_REGISTRY] = ServiceRegistry(environ=dict(os.environ))
    return config.stash[_REGISTRY]


# --------------------------------------------------------------------------------------------
# Starting services.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Served:
    url: str
    description: str  # for the terminal summary: what served it, where


type Starter = Callable[[ServicePlan], contextlib.AbstractContextManager[Served]]


def _provide(config: pytest.Config, spec: ServiceSpec) -> Iterator[str]:
    """Serve ``spec`` from the first candidate that starts; fail loudly if none does."""
    starters = _STARTERS[spec.key]
    registry = _registry(config)
    plan = registry.plan(spec)
    if not plan.candidates:
        pytest.fail(spec.unavailable_message(), pytrace=False)
    errors: list[str] = []
    for source in plan.candidates:
        stack = contextlib.ExitStack()
        started = time.perf_counter()
        try:
            served = stack.enter_context(starters[source](plan))
        except Exception as error:
            failure = f"{type(error).__name__}: {error}"
            errors.append(f"{source}: {failure}")
            served = None
        if served is None:
            if source is Source.ENV:  # never second-guess an explicit URL
                url = redact_url(plan.env_url or "")
                pytest.fail(f"{spec.env_var}={url} does not answer: {failure}", pytrace=False)
            continue
        used = UsedService(served.description, time.perf_counter() - started, tuple(errors))
        registry.used[spec.label] = used
        try:
            yield served.url
        finally:
            stopping = time.perf_counter()
            stack.close()
            used.stop_seconds = time.perf_counter() - stopping
        return
    pytest.fail(
        f"Could not start {spec.label} for the tests:\n  "
        + "\n  ".join(errors)
        + f"\n{spec.unavailable_message()}",
        pytrace=False,
    )


@contextlib.contextmanager
def _started(container: DockerContainer) -> Iterator[None]:
    """Start a testcontainers container and stop it on exit; a failed start stops what it
    created without hiding its own error behind one from the cleanup."""
    try:
        container.start()
    except BaseException:
        with contextlib.suppress(Exception):
            container.stop()
        raise
    try:
        yield
    finally:
        container.stop()


# Redis ---------------------------------------------------------------------------------------


def _redis_info(url: str) -> dict[str, Any]:
    """PING the server and return its ``INFO server``; raises when it does not answer."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        client.ping()
        info: dict[str, Any] = client.info("server")
        return info
    finally:
        client.close()


def _redis_version(url: str) -> str:
    return str(_redis_info(url).get("redis_version", "unknown version"))


@contextlib.contextmanager
def _redis_from_env(plan: ServicePlan) -> Iterator[Served]:
    assert plan.env_url is not None
    version = _redis_version(plan.env_url)
    yield Served(plan.env_url, f"{REDIS.env_var} {redact_url(plan.env_url)} [redis {version}]")


@contextlib.contextmanager
def _redis_container(plan: ServicePlan) -> Iterator[Served]:
    from testcontainers.community.redis import RedisContainer

    assert plan.spec.image is not None
    container = RedisContainer(plan.spec.image)
    with _started(container):  # start() waits until PING answers
        host = container.get_container_host_ip()
        port = int(container.get_exposed_port(container.port))
        url = f"redis://{host}:{port}/0"
        version = _redis_version(url)
        yield Served(url, f"testcontainers {plan.spec.image} [redis {version}] on {host}:{port}")


# MongoDB -------------------------------------------------------------------------------------


def _mongo_version(uri: str) -> str:
    """Run ``ping`` and describe the server; raises when it does not answer.

    mongoeco lacks ``buildinfo``; its ``hello`` names the MongoDB version it emulates.
    """
    from pymongo import MongoClient
    from pymongo.errors import OperationFailure

    client: MongoClient[dict[str, Any]] = MongoClient(uri, serverSelectionTimeoutMS=10_000)
    try:
        client.admin.command("ping")
        try:
            return f"MongoDB {client.admin.command('buildinfo')['version']}"
        except OperationFailure:
            hello = client.admin.command("hello")
            if hello.get("gitVersion") == "mongoeco":
                return f"mongoeco, MongoDB {hello.get('version', '?')} dialect"
            return "MongoDB, unknown version"
    finally:
        client.close()


@contextlib.contextmanager
def _mongo_from_env(plan: ServicePlan) -> Iterator[Served]:
    assert plan.env_url is not None
    version = _mongo_version(plan.env_url)
    yield Served(plan.env_url, f"{MONGODB.env_var} {redact_url(plan.env_url)} [{version}]")


@contextlib.contextmanager
def _mongo_container(plan: ServicePlan) -> Iterator[Served]:
    from testcontainers.community.mongodb import MongoDbContainer

    assert plan.spec.image is not None
    container = MongoDbContainer(plan.spec.image)
    with _started(container):  # start() waits for "waiting for connections" in the log
        uri = container.get_connection_url()
        version = _mongo_version(uri)
        yield Served(uri, f"testcontainers {plan.spec.image} [{version}] at {redact_url(uri)}")


# S3 / SES ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _aws_from_env(plan: ServicePlan) -> Iterator[Served]:
    assert plan.env_url is not None
    parts = urlsplit(plan.env_url)
    if parts.hostname is None:
        raise ValueError("the URL has no host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    with socket.create_connection((parts.hostname, port), timeout=5):
        pass
    yield Served(plan.env_url, f"{AWS.env_var} {redact_url(plan.env_url)}")


# The local processes ------------------------------------------------------------------------


@contextlib.contextmanager
def _local(plan: ServicePlan) -> Iterator[Served]:
    """The service as a process of this session (tests/support/provision.py)."""
    from importlib.metadata import version as package_version

    from tests.support.provision import (
        MongoecoServer,
        MotoServer,
        RedisServer,
        Service,
        redis_info,
    )

    spec = plan.spec
    with tempfile.TemporaryDirectory(prefix=f"flowhub-test-{spec.key}-") as workdir:
        service: Service
        if spec is REDIS:
            with RedisServer(Path(workdir)) as service:
                version = redis_info(service.port, "server").get("redis_version", "?")
                yield Served(service.url, f"redis-server {version} on 127.0.0.1:{service.port}")
        elif spec is MONGODB:
            with MongoecoServer(Path(workdir), database="") as service:
                _mongo_version(service.url)
                yield Served(
                    service.url,
                    f"mongoeco {package_version('mongoeco')} wire server (pid {service.pid}) "
                    f"on 127.0.0.1:{service.port}",
                )
        else:
            with MotoServer(Path(workdir), bucket=None) as service:
                moto = package_version("moto")
                yield Served(service.url, f"moto {moto} server on 127.0.0.1:{service.port}")


_STARTERS: dict[str, Mapping[Source, Starter]] = {
    REDIS.key: {Source.ENV: _redis_from_env, Source.TESTCONTAINERS: _redis_container,
                Source.LOCAL: _local},
    MONGODB.key: {Source.ENV: _mongo_from_env, Source.TESTCONTAINERS: _mongo_container,
                  Source.LOCAL: _local},
    AWS.key: {Source.ENV: _aws_from_env, Source.LOCAL: _local},
}  # fmt: skip


# --------------------------------------------------------------------------------------------
# Hooks and fixtures.
# --------------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    _registry(config)


def pytest_report_header(config: pytest.Config) -> str:
    registry = _registry(config)
    return header_line(tuple(registry.plan(spec) for spec in SERVICES))


def pytest_terminal_summary(
    terminalreporter: TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    used = _registry(config).used
    if used:
        terminalreporter.write_line(summary_line(used))


@pytest.fixture(scope="session")
def redis_url(pytestconfig: pytest.Config) -> Iterator[str]:
    """A Redis URL for the session (env, testcontainers or a local redis-server)."""
    yield from _provide(pytestconfig, REDIS)


@pytest.fixture(scope="session")
def mongodb_uri(pytestconfig: pytest.Config) -> Iterator[str]:
    """A MongoDB URI for the session (env, testcontainers or a mongoeco wire server)."""
    yield from _provide(pytestconfig, MONGODB)


@pytest.fixture(scope="session")
def aws_endpoint_url(pytestconfig: pytest.Config) -> Iterator[str]:
    """An S3/SES endpoint URL for the session (env or a moto server on 127.0.0.1)."""
    yield from _provide(pytestconfig, AWS)


class AwsCredentials(TypedDict):
    """Keyword arguments of ``AioSession.create_client``."""

    aws_access_key_id: str
    aws_secret_access_key: str
    region_name: Literal["ap-south-1"]  # a Literal, so it also types as S3's LocationConstraint


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> AwsCredentials:
    """Dummy AWS credentials, in the environment for this test and returned as keyword
    arguments for ``session.create_client(service, endpoint_url=..., **aws_credentials)``.

    Real credentials or a profile from the environment can then never reach a request.
    """
    credentials = AwsCredentials(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="ap-south-1",
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", credentials["region_name"])
    monkeypatch.setenv("AWS_REGION", credentials["region_name"])
    for name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return credentials


@pytest_asyncio.fixture(loop_scope="session")
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    """A ``redis.asyncio.Redis`` on ``redis_url``, its database flushed before the test."""
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        await client.flushdb()
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def _mongo_admin_client(mongodb_uri: str) -> Iterator[MongoClient[dict[str, Any]]]:
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(mongodb_uri)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def mongo_db_name(_mongo_admin_client: MongoClient[dict[str, Any]]) -> Iterator[str]:
    """A database name unique to this test (``test_<12 hex>``); the database is dropped after."""
    name = f"test_{uuid4().hex[:12]}"
    yield name
    _mongo_admin_client.drop_database(name)


def with_database(uri: str, name: str) -> str:
    """`uri` naming database `name` (the app takes the database from the URI's path)."""
    scheme, rest = uri.split("://", 1)
    query = ""
    if "?" in rest:
        rest, query = rest.split("?", 1)
        query = f"?{query}"
    hosts = rest.split("/", 1)[0]
    return f"{scheme}://{hosts}/{name}{query}"
