"""Redis commands per auth request, this tree against a baseline revision, in one run.

Upstash bills every command, the ones a Lua script runs included (docs/architecture.md), so
each auth flow is measured as the commands redis-server counted for it (`INFO commandstats`,
which counts a script's commands and the EVALSHA itself). Each tree is served in turn
(`python -m tests.support.server_app` from a `git archive` of the baseline, and from here) on a
fresh redis-server, users in memory, and driven through the same flows by the same client:
signup, verification, a wrong and a right password, a code request, a wrong and a right code,
`GET /users/me`, a refresh, a logout, a logout-all. The figure is the median over the accounts.

    python -m bench.auth_redis [--baseline REV] [--accounts N]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.harness import markdown_table
from bench.services import ROOT, command_calls
from tests.support.processes import LOOPBACK, free_port
from tests.support.provision import RedisServer, redis_info, start_services

PASSWORD = "correct horse battery"  # noqa: S105 (a benchmark account's)
# the benchmark's own queries and the subscription made at start; a PUBLISH is billed and counted
NOT_COUNTED = frozenset({"info", "ping", "subscribe", "psubscribe", "client|setinfo"})
_hosts = itertools.count(1)


def export(revision: str, into: Path) -> Path:
    """The tree of `revision` in `into`, from `git archive` (no working-copy changes)."""
    archive = into / "baseline.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", revision], cwd=ROOT, stdout=out, check=True)
    tree = into / "baseline"
    tree.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


@contextlib.contextmanager
def served(tree: Path, redis_url: str) -> Iterator[str]:
    port = free_port()
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env = keep | {
        "APP_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "TRUSTED_PROXY": "fly",
        "PORT": str(port),
        "PYTHONPATH": str(tree),
        "REDIS_URL": redis_url,
        "JWT_SECRET": "j" * 40,
        "JWT_REFRESH_SECRET": "r" * 40,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.server_app"],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{LOOPBACK}:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"the server of {tree} never answered /health")
        time.sleep(1.0)  # the warm-up opens the Redis client
        yield url
    finally:
        process.terminate()
        process.wait(10)


def calls(redis_port: int) -> dict[str, int]:
    return command_calls(redis_info(redis_port, "commandstats"))


def counted(before: dict[str, int], after: dict[str, int]) -> int:
    return sum(
        n - before.get(name, 0)
        for name, n in after.items()
        if name not in NOT_COUNTED and n - before.get(name, 0) > 0
    )


def address() -> dict[str, str]:
    n = next(_hosts)
    return {"Fly-Client-IP": f"10.77.{n // 250 % 250}.{n % 250 + 1}"}


def mailbox_code(http: httpx.Client, email: str, count: int) -> str:
    """The code of the `count`th message to `email` (the dev mailbox is in memory)."""
    for _ in range(500):
        messages = http.get("/api/v1/dev/mailbox", params={"to": email}).json()["messages"]
        if len(messages) >= count:
            ordered = sorted(messages, key=lambda m: str(m["sent_at"]))
            return str(re.findall(r"\b\d{6}\b", ordered[count - 1]["text"])[0])
        time.sleep(0.01)
    raise RuntimeError(f"no message {count} for {email}")


class Counter:
    """The commands each named step made, one figure per account."""

    def __init__(self, redis_port: int) -> None:
        self.redis_port = redis_port
        self.figures: dict[str, list[int]] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        before = calls(self.redis_port)
        yield
        self.figures.setdefault(name, []).append(counted(before, calls(self.redis_port)))


def one_account(http: httpx.Client, count: Counter, n: int) -> None:
    def post(path: str, body: dict[str, str]) -> httpx.Response:
        return http.post(f"/api/v1{path}", json=body, headers=address())

    email = f"bench-{time.monotonic_ns()}-{n}@example.com"
    with count.step("signup (mail sent)"):
        post("/auth/signup", {"email": email, "password": PASSWORD, "name": "Bench"})
        code = mailbox_code(http, email, 1)
    with count.step("verify-email"):
        verified = post("/auth/verify-email", {"email": email, "code": code})
    assert verified.status_code == 200, verified.text
    with count.step("login, wrong password"):
        post("/auth/login", {"email": email, "password": "not the password!"})
    with count.step("login, right password"):
        pair = post("/auth/login", {"email": email, "password": PASSWORD})
    assert pair.status_code == 200, pair.text
    tokens = pair.json()
    ask = {"email": email, "purpose": "login"}
    with count.step("otp/request (mail sent)"):
        post("/auth/otp/request", ask)
        login_code = mailbox_code(http, email, 2)
    wrong = login_code[:-1] + str((int(login_code[-1]) + 1) % 10)
    with count.step("otp/verify, wrong code"):
        post("/auth/otp/verify", {**ask, "code": wrong})
    with count.step("otp/verify, right code"):
        good = post("/auth/otp/verify", {**ask, "code": login_code})
    assert good.status_code == 200, good.text
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    with count.step("GET /users/me"):
        me = http.get("/api/v1/users/me", headers=bearer)
    assert me.status_code == 200, me.text
    with count.step("refresh"):
        renewed = post("/auth/refresh", {"refresh_token": tokens["refresh_token"]}).json()
    with count.step("logout"):
        bearer = {"Authorization": f"Bearer {renewed['access_token']}"}
        body = {"refresh_token": renewed["refresh_token"]}
        http.post("/api/v1/auth/logout", json=body, headers=bearer)
    other = good.json()  # the code login's session
    with count.step("logout-all"):
        bearer = {"Authorization": f"Bearer {other['access_token']}"}
        http.post("/api/v1/auth/logout-all", headers=bearer)


def drive(url: str, redis_port: int, accounts: int) -> dict[str, list[int]]:
    """Commands per flow, one list entry per account."""
    count = Counter(redis_port)
    with httpx.Client(base_url=url, timeout=30) as http:
        for n in range(accounts):
            one_account(http, count, n)
    return count.figures


def measure(tree: Path, accounts: int) -> dict[str, list[int]]:
    with start_services(RedisServer) as (redis,):
        assert isinstance(redis, RedisServer)
        with served(tree, redis.url) as url:
            return drive(url, redis.port, accounts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="b9c7943~1", help="revision to compare with")
    parser.add_argument("--accounts", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="auth-redis-") as scratch:
        baseline_tree = export(args.baseline, Path(scratch))
        baseline = measure(baseline_tree, args.accounts)
        now = measure(ROOT, args.accounts)
    rows = []
    for flow, figures in now.items():
        old, new = statistics.median(baseline[flow]), statistics.median(figures)
        ratio = f"{new / old:.2f}" if old else "-"
        rows.append([flow, f"{old:g}", f"{new:g}", ratio])
    print(
        f"Redis commands per request (median of {args.accounts} accounts; "
        "the commands scripts run included)"
    )
    print(f"baseline {args.baseline} against this tree\n")
    print("\n".join(markdown_table(["flow", "baseline", "now", "now / baseline"], rows)))


if __name__ == "__main__":
    main()
