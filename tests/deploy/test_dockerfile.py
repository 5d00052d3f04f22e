"""What the Dockerfile promises that hadolint does not check: the pins agree with the rest of the
repository, the build installs from the lock without the dev group and ships bytecode, the
runtime is not root, and the build context holds the app and nothing else."""

from __future__ import annotations

import fnmatch
import shlex
import tomllib

import pytest

from config.settings import PRODUCTION_REQUIRED, load_settings
from tests.deploy.files import makefile_variable
from tests.support.dockerfile import copy_sources, parse
from tests.support.processes import ROOT

pytestmark = pytest.mark.deploy

DOCKERFILE = parse(ROOT / "Dockerfile")


def _included(path: str, patterns: list[str]) -> bool:
    """.dockerignore: the last pattern matching the path, or a directory above it, wins."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern[1:] if negated else pattern
        if any(fnmatch.fnmatchcase(p, glob.rstrip("/")) for p in prefixes):
            included = negated
    return included


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_both_stages_start_from_the_same_pinned_python() -> None:
    image = DOCKERFILE.stages[0].image
    assert [stage.image for stage in DOCKERFILE.stages] == [image, image]
    assert image.startswith("python:3.13.")
    assert "-slim" in image


def test_uv_is_the_version_the_makefile_installs() -> None:
    [arg] = DOCKERFILE.stage("build").all("ARG")
    assert arg.args == f"UV_VERSION={makefile_variable('UV_VERSION')}"


def test_the_build_installs_the_lock_without_the_dev_group_and_compiles_bytecode() -> None:
    build = DOCKERFILE.stage("build")
    env = build.env()
    assert env["UV_COMPILE_BYTECODE"] == "1"
    assert env["UV_PYTHON_DOWNLOADS"] == "never"  # the image's own Python, not a download
    [sync] = [r for r in build.all("RUN") if "uv sync" in r.args]
    words = shlex.split(sync.args)
    assert {"--frozen", "--no-dev"} <= set(words)
    assert "--group" not in words and "--all-groups" not in words
    assert any("compileall" in r.args for r in build.all("RUN"))  # FlowHub's own .pyc


def test_the_runtime_stage_copies_only_the_built_app_and_runs_unprivileged() -> None:
    runtime = DOCKERFILE.final
    copies = runtime.all("COPY")
    assert [c.flags for c in copies] == [{"from": "build"}]
    [user] = runtime.all("USER")
    uid = user.args.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    env = runtime.env({"PATH": "/usr/bin"})
    assert env["PATH"].startswith("/app/.venv/bin:")
    assert env["APP_ENV"] == "production"  # an image without its variables refuses to start
    # reached from outside the container, also when run with APP_ENV=development
    assert load_settings({**env, "APP_ENV": "development"}).host == "0.0.0.0"
    assert not set(PRODUCTION_REQUIRED) & env.keys()  # no deployment value baked into the image


def test_the_image_holds_every_package_of_the_app() -> None:
    with (ROOT / "pyproject.toml").open("rb") as f:
        packages = set(tomllib.load(f)["tool"]["importlinter"]["root_packages"])
    copied: set[str] = set()
    for copy in DOCKERFILE.stage("build").all("COPY"):
        sources, _ = copy_sources(copy)
        copied |= {s.rstrip("/") for s in sources}
    assert packages <= copied
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert _included(source, _dockerignore()), f"COPY {source}: excluded by .dockerignore"


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        ".env",
        "tests/unit/test_settings.py",
        "bench/chat.py",
        "domain/__pycache__/x.cpython-313.pyc",
        "README.md",
        ".uv/bin/uv",
        "test-artifacts/a.png",
    ],
)
def test_the_build_context_leaves_out_what_the_image_does_not_need(path: str) -> None:
    assert not _included(path, _dockerignore())


def test_the_build_context_keeps_the_app_and_the_lock() -> None:
    for path in ["domain/auth/service.py", "entrypoints/__main__.py", "uv.lock", "pyproject.toml"]:
        assert _included(path, _dockerignore())
