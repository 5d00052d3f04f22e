"""The TypeScript client (clients/typescript, @flowhub/client): its generated types are what a
fresh generation from the server's documents gives, the package and its example app pass
`tsc` strict, and its Node tests (every flow of the example, the single-flight renewal, typed
errors, the socket's token renewal and catch-up) pass against a real server process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from entrypoints.http.web import WEB_ROOT
from tests.support.node_tools import CLIENT, node, tool
from tests.support.processes import ROOT, running_server

pytestmark = pytest.mark.api

GENERATED = CLIENT / "src" / "generated"


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        command, capture_output=True, text=True, timeout=300, check=False, **kwargs
    )


def test_the_committed_types_are_a_fresh_generation(tmp_path: Path) -> None:
    dumped = run([sys.executable, "-m", "entrypoints.documents", str(tmp_path)], cwd=ROOT)
    assert dumped.returncode == 0, dumped.stderr
    tool("openapi-typescript")
    generated = run(
        [
            node(),
            "scripts/generate.mjs",
            str(tmp_path / "openapi.json"),
            str(tmp_path / "asyncapi.json"),
            str(tmp_path / "generated"),
        ],
        cwd=CLIENT,
    )
    assert generated.returncode == 0, generated.stderr
    for name in ("openapi.ts", "realtime.ts"):
        fresh = (tmp_path / "generated" / name).read_text()
        assert (GENERATED / name).read_text() == fresh, (
            f"clients/typescript/src/generated/{name} is stale: run `make client-types`"
        )


def test_the_web_clients_bundle_is_a_fresh_build(tmp_path: Path) -> None:
    """The reference web client (entrypoints/web/js/api.js) runs on the package, bundled."""
    tool("esbuild")
    bundle = tmp_path / "flowhub-client.js"
    built = run([node(), "scripts/bundle.mjs", str(bundle)], cwd=CLIENT)
    assert built.returncode == 0, built.stderr
    for name in ("flowhub-client.js", "flowhub-client.LICENSES.txt"):
        assert (WEB_ROOT / "vendor" / name).read_text() == (tmp_path / name).read_text(), (
            f"entrypoints/web/vendor/{name} is stale: run `make client-types`"
        )


def test_the_package_and_the_example_app_type_check_strict() -> None:
    for config in ("tsconfig.json", "tsconfig.build.json"):
        checked = run([tool("tsc"), "-p", config, "--noEmit"], cwd=CLIENT)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_clients_node_tests_pass_against_a_real_server() -> None:
    built = run([tool("tsc"), "-p", "tsconfig.json"], cwd=CLIENT)
    assert built.returncode == 0, built.stdout + built.stderr
    # the page origin test/cookie.test.mjs sends: the cookie transport needs a listed origin
    env = {"APP_ENV": "development", "CORS_ORIGINS": "http://127.0.0.1:3000"}
    with running_server(env=env) as server:
        tested = run(
            [node(), "--test", "test/"],
            cwd=CLIENT,
            env={**os.environ, "FLOWHUB_URL": server.url},
        )
    assert tested.returncode == 0, tested.stdout[-8000:] + tested.stderr[-4000:]
    assert "# fail 0" in tested.stdout
