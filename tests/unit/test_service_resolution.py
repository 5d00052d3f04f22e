"""Where the test services come from: the pure decision logic of tests.support.services."""

from pathlib import Path

import pytest

from tests.support.services import (
    AWS,
    MONGODB,
    REDIS,
    ServicePlan,
    ServiceRegistry,
    Source,
    UsedService,
    docker_engine_hinted,
    header_line,
    plan_service,
    redact_url,
    summary_line,
)

pytestmark = pytest.mark.unit


def docker_must_not_be_asked() -> bool:
    raise AssertionError("the Docker probe ran although the environment decided")


def test_a_url_in_the_environment_wins_and_skips_the_docker_probe() -> None:
    plan = plan_service(
        REDIS,
        {"TEST_REDIS_URL": "redis://cache:6379/3"},
        docker_available=docker_must_not_be_asked,
        local_available=True,
    )

    assert plan.candidates == (Source.ENV,)
    assert plan.env_url == "redis://cache:6379/3"


def test_a_blank_environment_variable_counts_as_unset() -> None:
    plan = plan_service(
        MONGODB, {"TEST_MONGODB_URI": "  "}, docker_available=lambda: False, local_available=True
    )

    assert plan.candidates == (Source.LOCAL,)


def test_docker_comes_before_the_local_process_which_stays_as_fallback() -> None:
    plan = plan_service(MONGODB, {}, docker_available=lambda: True, local_available=True)

    assert plan.candidates == (Source.TESTCONTAINERS, Source.LOCAL)


def test_without_docker_the_local_process_serves() -> None:
    plan = plan_service(REDIS, {}, docker_available=lambda: False, local_available=True)

    assert plan.candidates == (Source.LOCAL,)


def test_s3_and_ses_never_use_a_container() -> None:
    plan = plan_service(AWS, {}, docker_available=docker_must_not_be_asked, local_available=True)

    assert plan.candidates == (Source.LOCAL,)


def test_nothing_available_leaves_no_candidate_and_says_how_to_provide_one() -> None:
    plan = plan_service(REDIS, {}, docker_available=lambda: False, local_available=False)

    assert plan.candidates == ()
    message = REDIS.unavailable_message()
    assert "set TEST_REDIS_URL=redis://..." in message
    assert "start Docker" in message
    assert "apt-get install redis-server" in message
    assert "TEST_MONGODB_URI=mongodb://..." in MONGODB.unavailable_message()
    assert "pip install mongoeco" in MONGODB.unavailable_message()


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("rediss://default:s3cret@eu1.upstash.io:6379", "rediss://default:***@eu1.upstash.io:6379"),
        (
            "mongodb+srv://app:p%40ss@cluster0.mongodb.net/flowhub?retryWrites=true",
            "mongodb+srv://app:***@cluster0.mongodb.net/flowhub?retryWrites=true",
        ),
        (
            "mongodb://app:pw@h1:27017,h2:27017/db?replicaSet=rs0",
            "mongodb://app:***@h1:27017,h2:27017/db?replicaSet=rs0",
        ),
        ("redis://cache:6379/0?password=s3cret&db=2", "redis://cache:6379/0?password=***&db=2"),
        ("redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/15"),
        ("mongodb://user@host/db", "mongodb://user@host/db"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
    ],
)
def test_redact_url_hides_only_the_password(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_the_header_names_each_source_and_never_a_password() -> None:
    environ = {"TEST_REDIS_URL": "redis://:hunter2@10.0.0.5:6379/1"}
    plans = (
        plan_service(REDIS, environ, docker_available=lambda: False, local_available=True),
        plan_service(MONGODB, environ, docker_available=lambda: True, local_available=True),
        plan_service(AWS, environ, docker_available=lambda: False, local_available=True),
    )

    header = header_line(plans)

    assert "hunter2" not in header
    assert header == (
        "services: redis=TEST_REDIS_URL redis://:***@10.0.0.5:6379/1, "
        "mongodb=testcontainers mongo:7 (started on first use; else local mongoeco wire server), "
        "s3/ses=local moto server (started on first use)"
    )


def test_the_header_flags_a_service_nobody_can_provide() -> None:
    plan = ServicePlan(REDIS, ())

    assert header_line([plan]) == (
        "services: redis=UNAVAILABLE (its tests will fail; set TEST_REDIS_URL)"
    )


def test_the_summary_lists_what_served_each_service_and_its_timings() -> None:
    used = {
        "redis": UsedService("redis-server 7.0.15 on 127.0.0.1:40001", 0.021, stop_seconds=0.1),
        "mongodb": UsedService(
            "mongoeco 4.11.0 wire server on 127.0.0.1:40002",
            1.6,
            failed_before=("testcontainers: DockerException: pull failed",),
        ),
    }

    assert summary_line(used) == (
        "services used: redis=redis-server 7.0.15 on 127.0.0.1:40001 "
        "(up in 0.02 s, down in 0.10 s), "
        "mongodb=mongoeco 4.11.0 wire server on 127.0.0.1:40002 "
        "(up in 1.60 s; after testcontainers: DockerException: pull failed)"
    )


def test_the_registry_probes_docker_once_and_only_when_needed() -> None:
    calls: list[str] = []

    def probe() -> bool:
        calls.append("ping")
        return False

    registry = ServiceRegistry(environ={"TEST_REDIS_URL": "redis://r:6379/0"}, probe_docker=probe)
    registry.plan(REDIS)
    registry.plan(AWS)
    assert calls == []

    registry.plan(MONGODB)
    registry.plan(MONGODB)
    assert registry.docker_available() is False
    assert calls == ["ping"]


def test_no_socket_and_no_docker_configuration_means_no_docker_probe() -> None:
    assert not docker_engine_hinted({}, home=Path("/home/dev"), exists=lambda _: False)


@pytest.mark.parametrize(
    ("environ", "existing"),
    [
        pytest.param({"DOCKER_HOST": "tcp://10.0.0.2:2375"}, set(), id="DOCKER_HOST"),
        pytest.param({"TC_HOST": "10.0.0.2"}, set(), id="TC_HOST"),
        pytest.param({}, {Path("/var/run/docker.sock")}, id="socket"),
        pytest.param({}, {Path("/home/dev/.docker/config.json")}, id="docker-cli-config"),
        pytest.param(
            {"DOCKER_CONFIG": "/etc/dockercfg"},
            {Path("/etc/dockercfg/config.json")},
            id="DOCKER_CONFIG",
        ),
        pytest.param({}, {Path("/home/dev/.testcontainers.properties")}, id="tc-properties"),
    ],
)
def test_any_sign_of_a_docker_engine_means_a_real_ping(
    environ: dict[str, str], existing: set[Path]
) -> None:
    assert docker_engine_hinted(environ, home=Path("/home/dev"), exists=existing.__contains__)
