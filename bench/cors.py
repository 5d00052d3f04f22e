"""quart-cors's own after-request hook against the prepared one (entrypoints/http/app.py), per
call, in one process: medians of 5 rounds of 4,096 calls each, on a signed-in GET with an
allowed Origin and on one without an Origin (wrk's and most server-to-server callers' case).

    .venv/bin/python -m bench.cors
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable

from quart import Quart, Response

from config.container import build_container
from config.settings import load_settings
from entrypoints.http.app import create_http_app

CALLS, ROUNDS = 4096, 5
type Hook = Callable[[Response], Awaitable[Response]]


def build(library: bool) -> tuple[Quart, Hook]:
    if library:
        os.environ["BENCH_AB_CORS"] = "library"
    else:
        os.environ.pop("BENCH_AB_CORS", None)
    env = {"APP_ENV": "test", "CORS_ORIGINS": "https://app.flowhub.example"}
    app = create_http_app(build_container(load_settings(env)))
    hook: Hook = app.after_request_funcs[None][-1]
    name = getattr(getattr(hook, "func", hook), "__qualname__", "")
    assert name.endswith(("_after_request", "apply_cors")), hook  # the CORS hook is the last
    return app, hook


async def per_call_us(app: Quart, hook: Hook, headers: dict[str, str]) -> float:
    rounds = []
    async with app.test_request_context("/api/v1/users/me", headers=headers):
        for _ in range(ROUNDS):
            started = time.perf_counter()
            for _ in range(CALLS):
                await hook(Response("{}"))
            rounds.append((time.perf_counter() - started) / CALLS * 1e6)
    return statistics.median(rounds)


async def main() -> None:
    print("| CORS hook | with Origin µs/call | no Origin µs/call |")
    print("| --- | ---: | ---: |")

    async def bare(response: Response) -> Response:  # the loop's own cost: a Response made
        return response

    app, _ = build(False)
    print(f"| none (the loop and a Response) | {await per_call_us(app, bare, {'Origin': 'x'}):.1f} "
          f"| {await per_call_us(app, bare, {}):.1f} |")  # fmt: skip
    for name, library in (("quart-cors's own", True), ("prepared", False)):
        app, hook = build(library)
        with_origin = await per_call_us(app, hook, {"Origin": "https://app.flowhub.example"})
        without = await per_call_us(app, hook, {})
        print(f"| {name} | {with_origin:.1f} | {without:.1f} |")


if __name__ == "__main__":
    asyncio.run(main())
