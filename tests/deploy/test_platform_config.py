"""fly.toml, render.yaml and the workflow hold the deployment's decisions, checked against the code
they deploy (settings, lifecycle bounds, Makefile targets, markers) so that the two cannot drift."""

from __future__ import annotations

import re
import subprocess
import tomllib
from typing import Any

import pytest
import yaml

from config.lifecycle import FINAL_FLUSH_S
from config.settings import PRODUCTION_REQUIRED, Settings, load_settings
from tests.deploy.files import (
    FLY_TOML,
    SECRETS,
    fly,
    makefile_markers,
    makefile_variable,
    render_env,
    render_service,
    workflow,
)
from tests.support.dockerfile import parse
from tests.support.processes import ROOT

pytestmark = pytest.mark.deploy

FAKE_SECRETS = {
    "MONGODB_URI": "mongodb+srv://u:p@cluster0.example.mongodb.net/flowhub",
    "REDIS_URL": "rediss://default:p@example.upstash.io:6379",
    "JWT_SECRET": "a" * 40,
    "JWT_REFRESH_SECRET": "b" * 40,
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "ROLLBAR_TOKEN": "t",
    "LOGTAIL_TOKEN": "t",
    "S3_BUCKET_NAME": "flowhub-files",
    "FROM_EMAIL": "no-reply@flowhub.example",
    "CORS_ORIGINS": "https://app.flowhub.example",
}


# ---------------------------------------------------------------------------------------------
# fly.toml


def test_fly_runs_in_mumbai_on_one_shared_cpu_with_512_mb() -> None:
    config = fly()
    assert config["primary_region"] == "bom"
    assert config["app"]
    [vm] = config["vm"]
    assert vm["size"] == "shared-cpu-1x"
    assert vm["cpu_kind"] == "shared"
    assert vm["cpus"] == 1
    assert vm["memory"] == "512mb"


def test_fly_serves_https_on_the_port_the_app_and_the_image_use() -> None:
    service = fly()["http_service"]
    image = parse(ROOT / "Dockerfile").final
    assert service["internal_port"] == 4000
    assert service["internal_port"] == Settings().port
    assert [e.args for e in image.all("EXPOSE")] == [str(service["internal_port"])]
    assert fly()["env"]["PORT"] == str(service["internal_port"])
    assert service["force_https"] is True


def test_fly_scales_to_zero_by_suspending() -> None:
    service = fly()["http_service"]
    assert service["auto_stop_machines"] == "suspend"
    assert service["auto_start_machines"] is True
    assert service["min_machines_running"] == 0


def test_fly_checks_health_on_the_dependency_free_route() -> None:
    [check] = fly()["http_service"]["checks"]
    assert check["method"] == "GET"
    assert check["path"] == "/health"  # never ?deep=1: a probe must not wake the databases


def test_fly_concurrency_limits_are_in_requests_and_ordered() -> None:
    limits = fly()["http_service"]["concurrency"]
    assert limits["type"] == "requests"
    assert 0 < limits["soft_limit"] < limits["hard_limit"] <= 500  # 500: the most measured


def test_fly_env_is_valid_production_settings_without_a_secret() -> None:
    env = fly()["env"]
    assert env["APP_ENV"] == "production"
    assert not SECRETS & env.keys()
    settings = load_settings({**FAKE_SECRETS, **env})  # raises if a value in [env] is invalid
    assert settings.is_production
    assert settings.port == 4000
    assert settings.host == "0.0.0.0"  # Fly's proxy reaches the machine from outside
    assert not settings.relaxed_limits


def test_fly_toml_tells_how_to_set_every_production_variable_it_does_not_hold() -> None:
    comments = "\n".join(
        line for line in FLY_TOML.read_text().splitlines() if line.lstrip().startswith("#")
    )
    assert "fly secrets set" in comments
    for name in set(PRODUCTION_REQUIRED) - fly()["env"].keys():
        assert re.search(rf"\b{name}=", comments), f"fly.toml does not say how to set {name}"


def test_fly_waits_for_the_slowest_stop_the_code_allows() -> None:
    """On SIGTERM: uvicorn waits for in-flight requests (SHUTDOWN_TIMEOUT_S), then the
    lifespan drains background tasks (same bound), then closes the clients (same bound) while
    the telemetry flushes (FINAL_FLUSH_S + 0.25 s). Fly kills at kill_timeout."""
    config = fly()
    assert config["kill_signal"] == "SIGTERM"
    shutdown_s = load_settings({**FAKE_SECRETS, **config["env"]}).shutdown_timeout_s
    worst_case_s = shutdown_s + shutdown_s + max(shutdown_s, FINAL_FLUSH_S + 0.25)
    assert config["kill_timeout"] >= worst_case_s + 1  # a second for the process to exit
    assert config["kill_timeout"] <= 300  # Fly's maximum


# ---------------------------------------------------------------------------------------------
# render.yaml


def test_render_runs_a_free_python_web_service_on_in_memory_adapters() -> None:
    service = render_service()
    assert service["type"] == "web"
    assert service["runtime"] == "python"
    assert service["plan"] == "free"
    assert service["healthCheckPath"] == "/health"
    env = render_env(service)
    assert env["APP_ENV"] == "development"
    assert not SECRETS & env.keys()
    # what the service will run on: Render adds PORT; nothing points at a real service
    settings = load_settings({**env, "PORT": "10000"})
    assert settings.app_env == "development"
    assert settings.port == 10000
    assert settings.host == "0.0.0.0"  # Render's proxy reaches it from outside
    assert not (settings.uses_mongo or settings.uses_redis or settings.uses_s3)
    assert not (settings.uses_ses or settings.uses_rollbar or settings.uses_logtail)


def test_render_keeps_its_token_secrets_across_restarts() -> None:
    generated = {e["key"] for e in render_service()["envVars"] if e.get("generateValue")}
    assert generated == {"JWT_SECRET", "JWT_REFRESH_SECRET"}


def test_render_builds_from_the_lock_without_dev_dependencies_like_the_image() -> None:
    service = render_service()
    build = service["buildCommand"].split()
    assert build[:2] == ["uv", "sync"]
    assert {"--frozen", "--no-dev"} <= set(build)
    env = render_env(service)
    assert env["UV_COMPILE_BYTECODE"] == "1"
    assert env["UV_PYTHON_DOWNLOADS"] == "never"  # Render's Python, present at run time too
    assert env["UV_VERSION"] == makefile_variable("UV_VERSION")
    assert service["startCommand"].split()[-2:] == ["-m", "entrypoints"]


def test_render_and_the_image_use_the_same_python() -> None:
    minor = (ROOT / ".python-version").read_text().strip()
    image = parse(ROOT / "Dockerfile").stages[0].image
    match = re.fullmatch(r"python:(\d+\.\d+\.\d+)-slim(-\w+)?", image.split("@")[0])
    assert match is not None, f"the base image is not pinned to a full version: {image}"
    assert match.group(1).startswith(minor + ".")
    assert render_env(render_service())["PYTHON_VERSION"] == match.group(1)


# ---------------------------------------------------------------------------------------------
# the workflow


def _jobs() -> dict[str, Any]:
    jobs = workflow()["jobs"]
    assert isinstance(jobs, dict)
    return jobs


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_the_pipeline_runs_on_pushes_to_main_and_on_pull_requests() -> None:
    triggers = workflow()["on"]
    assert triggers["push"]["branches"] == ["main"]
    assert "pull_request" in triggers


def test_the_pipeline_runs_every_test_marker() -> None:
    declared = set()
    with (ROOT / "pyproject.toml").open("rb") as f:
        for line in tomllib.load(f)["tool"]["pytest"]["ini_options"]["markers"]:
            declared.add(line.split(":")[0].strip())
    by_target = makefile_markers()
    run_by_ci: set[str] = set()
    for job in _jobs().values():
        for target in re.findall(r"\bmake ([a-z][a-z0-9-]*)", _runs(job)):
            run_by_ci |= by_target.get(target, set())
    assert "*" in run_by_ci or declared <= run_by_ci, declared - run_by_ci


def test_deploy_needs_every_other_job_and_only_runs_for_main_of_the_canonical_repo() -> None:
    jobs = _jobs()
    deploy = jobs["deploy"]
    assert set(deploy["needs"]) == set(jobs) - {"deploy"}
    condition = deploy["if"]
    assert "github.event_name == 'push'" in condition
    assert "github.ref == 'refs/heads/main'" in condition
    assert "!github.event.repository.fork" in condition
    assert "always()" not in condition  # a failed or cancelled job stops the deploy
    assert deploy["environment"]["name"] == "production"
    assert deploy["env"]["FLY_API_TOKEN"] == "${{ secrets.FLY_API_TOKEN }}"
    assert "flyctl deploy" in _runs(deploy)


def test_a_newer_push_cancels_tests_but_never_a_deploy_under_way() -> None:
    jobs = _jobs()
    assert "concurrency" not in workflow()  # a workflow-wide group would cancel the deploy too
    for name, job in jobs.items():
        if name == "deploy":
            assert job["concurrency"]["cancel-in-progress"] == "false"
            assert "github.ref" not in job["concurrency"]["group"]
        else:
            assert job["concurrency"]["cancel-in-progress"] == "true"
            assert "github.ref" in job["concurrency"]["group"]


def test_the_end_to_end_job_points_the_tests_at_the_chromium_it_installs() -> None:
    runs = _runs(_jobs()["e2e"])
    assert "playwright install --with-deps chromium" in runs
    assert "CHROMIUM_PATH=" in runs
    assert "make e2e" in runs


def test_the_image_job_builds_the_dockerfile_and_asks_it_for_health() -> None:
    runs = _runs(_jobs()["image"])
    assert "/health" in runs
    assert "-eq 78" in runs  # production without its variables refuses to start


def test_the_shared_setup_action_passes_actionlint_as_a_job() -> None:
    """actionlint reads a local composite action's inputs but not its steps: lint the steps as
    the steps of a workflow job, which is how they run."""
    action = yaml.safe_load((ROOT / ".github" / "actions" / "setup" / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    job_workflow = {
        "name": "setup-action-as-a-job",
        "on": "push",
        "jobs": {"setup": {"runs-on": "ubuntu-24.04", "steps": action["runs"]["steps"]}},
    }
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "actionlint"), "-"],
        input=yaml.safe_dump(job_workflow, sort_keys=False),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
