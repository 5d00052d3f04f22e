"""Schemathesis against FlowHub's own /openapi.json, every phase (examples, coverage, fuzzing,
stateful), every check, authenticated with a real access token (signup, emailed code, verify),
against a served process: once on the real services (MongoDB, Redis, S3 on moto) and once in the
development shape (memory adapters, which also serve the presigned-URL routes).

Repeatable: a fixed seed, a fixed size (`--max-examples` per operation), one worker, no example
database. `make test` runs a modest size; `make fuzz` a larger one (FUZZ_EXAMPLES). The run must
end with no failure of any check (no 5xx, every status and body as documented) and the server
must have logged no unexpected exception. The quotas the fuzzer would trip are lifted in
tests/support/fuzz_app.py; tests/fuzz/schemathesis.toml says which contract answers a
well-formed request may still get.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.api.realtime_client import sign_up
from tests.fuzz.served import Served, served
from tests.support.processes import ROOT, ServerProcess, http_get
from tests.support.services import AwsCredentials, with_database

pytestmark = pytest.mark.fuzz

FUZZ_APP = "tests.support.fuzz_app"
CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = int(os.environ.get("FUZZ_SEED", "20261126"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
BUCKET = "flowhub-fuzz"
SECRETS = {"JWT_SECRET": "j" * 40, "JWT_REFRESH_SECRET": "r" * 40}
# a topic, so POST /ses/notifications checks what the fuzzer sends (every message is refused
# with 403: none is signed) rather than answering 404 before reading it; no generated
# certificate URL is on AWS's hosts, so nothing is fetched
SNS = {"SES_SNS_TOPIC_ARN": "arn:aws:sns:ap-south-1:123456789012:flowhub-fuzz"}


def run_schemathesis(server: ServerProcess, token: str, report: Path) -> tuple[int, str, float]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{server.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        # it revokes every session of the account, the run's own token with it (its access
        # token is refused from then on): every later request would be a 401. It takes no
        # input; tests/fuzz/test_authorization_sweep.py covers it without a token.
        "--exclude-path",
        "/api/v1/auth/logout-all",
        # with the run's password it would delete the run's own account (every later request
        # a 401), and without it every call is a wrong password that counts against the
        # account's login limit; only DELETE (GET and PATCH of /users/me stay in the run).
        # tests/fuzz/test_authorization_sweep.py covers it without a token, and
        # tests/api/test_auth_api.py and tests/integration/test_account_deletion.py with one.
        "--exclude-name",
        "DELETE /api/v1/users/me",
        # the stateful phase lists the run's sessions and would end its own (every later
        # request a 401); tests/api/test_auth_api.py and the authorization sweep cover it
        "--exclude-name",
        "DELETE /api/v1/auth/sessions/{session_id}",
        # the admin routes answer exactly an unknown route's 404 to everyone but an
        # administrator, with or without a token (README "Administration"), which is what
        # schemathesis's missing-auth check calls wrong; the run's account is no administrator.
        # tests/api/test_admin_api.py and the authorization sweep cover them both ways.
        "--exclude-path-regex",
        "^/api/v1/admin/",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--seed",
        str(SEED),
        "--max-examples",
        str(EXAMPLES),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "20",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    started = time.monotonic()
    done = subprocess.run(
        command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=3600
    )
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


def figures(output: str) -> str:
    """The summary line schemathesis prints: `N generated, M found ... failures, K skipped`."""
    found = re.search(r"^\s*(\d+ generated.*)$", output, re.MULTILINE)
    return found.group(1) if found else "(no summary)"


def check(shape: str, app: Served, tmp_path: Path, token: str) -> None:
    server = app.server
    code, output, elapsed = run_schemathesis(server, token, tmp_path / "junit.xml")
    summary = figures(output)
    print(
        f"\nschemathesis [{shape}] seed={SEED} max-examples={EXAMPLES}: {summary}; {elapsed:.1f} s"
    )
    assert code == 0, output[-20000:]
    assert http_get(server.port, "/health")[0] == 200
    errors = app.errors()
    assert errors == [], "".join(errors[:5])


async def test_the_openapi_contract_holds_on_the_real_services(
    *,
    redis_url: str,
    mongodb_uri: str,
    mongo_db_name: str,
    aws_endpoint_url: str,
    aws_credentials: AwsCredentials,
    tmp_path: Path,
) -> None:
    from aiobotocore.session import get_session

    async with get_session().create_client(
        "s3", endpoint_url=aws_endpoint_url, **aws_credentials
    ) as s3:
        await s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"}
        )
    uri = with_database(mongodb_uri, mongo_db_name)
    env = {
        "APP_ENV": "development",
        "REDIS_URL": redis_url,
        "MONGODB_URI": uri,
        "AWS_ACCESS_KEY_ID": aws_credentials["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": aws_credentials["aws_secret_access_key"],
        "AWS_REGION": aws_credentials["region_name"],
        "AWS_ENDPOINT_URL": aws_endpoint_url,
        "S3_BUCKET_NAME": BUCKET,
        **SECRETS,
        **SNS,
    }
    with served(FUZZ_APP, env) as app:
        account = await sign_up(app.url, f"fuzz-real-{time.time_ns()}@example.com", "Fuzz")
        check("real services", app, tmp_path, account.token)


async def test_the_openapi_contract_holds_in_the_development_shape(tmp_path: Path) -> None:
    with served(FUZZ_APP, {"APP_ENV": "development", **SNS}) as app:
        account = await sign_up(app.url, "fuzz-memory@example.com", "Fuzz")
        check("memory", app, tmp_path, account.token)
