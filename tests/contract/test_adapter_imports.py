"""Importing the Redis, MongoDB, S3 and Pillow adapters loads no driver.

The composition root imports every adapter class; redis-py, pymongo/motor and odmantic cost
~120-250 ms each to import, which a process serving from memory (and every cold start before
the first request) must not pay. The drivers load when a client first opens.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.contract

ADAPTERS = (
    "adapters.redis.otp",
    "adapters.redis.rate_limit",
    "adapters.redis.cache",
    "adapters.mongo.users",
    "adapters.mongo.sessions",
    "adapters.mongo.files",
    "adapters.s3.blobs",
    "adapters.pillow.thumbnails",
)
ROOT = Path(__file__).resolve().parents[2]
DRIVERS = (
    "redis", "pymongo", "motor", "bson", "odmantic", "pydantic", "botocore", "aiobotocore", "PIL",
)  # fmt: skip


def test_importing_the_adapters_loads_no_driver() -> None:
    probe = (
        "import sys\n"
        + "".join(f"import {module}\n" for module in ADAPTERS)
        + f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({DRIVERS!r})))"
    )

    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )

    assert result.stdout.strip() == "[]"


def test_the_telemetry_adapters_load_no_sdk_until_used() -> None:
    """pyrollbar (~0.3-0.5 s) and logtail-python with requests (~0.15 s) load only when the
    first error is reported and when the shipper opens after start: never on a cold start."""
    probe = (
        "import sys\n"
        "import config.container, adapters.rollbar.reporter, adapters.logtail.shipper\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'rollbar', 'logtail', 'requests', 'msgpack', 'urllib3'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert result.stdout.strip() == "[]"
