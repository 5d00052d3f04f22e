"""Traffic under faults: a driver that records what every request got, and the checks the fault
tests and the soak and load benchmarks share. The services they stop, pause and restart are in
tests/support/provision.py, the server processes in tests/support/processes.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.processes import ServerProcess


async def wait_deep_health(server: ServerProcess, within_s: float = 30.0) -> None:
    """Until `/health?deep=1` answers 200 (the clients warm up 1 s after the start)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        deadline = time.monotonic() + within_s
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/health?deep=1")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise AssertionError("deep health never answered 200")
            await asyncio.sleep(0.2)


# --- traffic ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    label: str
    started: float  # time.monotonic()
    seconds: float
    status: int | None  # None: no HTTP answer
    error: str | None = None  # the exception's type when there was no answer
    body: Any = None


@dataclass
class Traffic:
    outcomes: list[Outcome] = field(default_factory=list)

    def between(self, start: float, end: float) -> list[Outcome]:
        return [o for o in self.outcomes if start <= o.started < end]

    @staticmethod
    def statuses(outcomes: Sequence[Outcome]) -> Counter[str]:
        return Counter(str(o.status) if o.status is not None else str(o.error) for o in outcomes)

    @staticmethod
    def ok_share(outcomes: Sequence[Outcome]) -> float:
        if not outcomes:
            return 0.0
        return sum(1 for o in outcomes if o.status is not None and o.status < 400) / len(outcomes)

    @staticmethod
    def latency_ms(outcomes: Sequence[Outcome], q: float) -> float:
        values = sorted(o.seconds * 1000 for o in outcomes)
        if not values:
            return 0.0
        return values[min(len(values) - 1, int(q * len(values)))]

    @staticmethod
    def median_ms(outcomes: Sequence[Outcome]) -> float:
        return statistics.median(o.seconds * 1000 for o in outcomes) if outcomes else 0.0


type Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


async def drive(
    base_url: str,
    requests: Sequence[tuple[str, Request]],
    *,
    workers: int,
    stop: asyncio.Event,
    traffic: Traffic,
    timeout_s: float = 30.0,
    pause_s: float = 0.0,
    keep_alive: bool = True,
) -> None:
    """`workers` loops, each sending the requests round-robin until `stop` is set, every
    outcome recorded (an answer's status, or the exception when none came)."""
    limits = httpx.Limits(
        max_connections=workers, max_keepalive_connections=workers if keep_alive else 0
    )

    async def worker(n: int) -> None:
        i = n
        async with httpx.AsyncClient(base_url=base_url, timeout=timeout_s, limits=limits) as http:
            while not stop.is_set():
                label, request = requests[i % len(requests)]
                i += 1
                started = time.monotonic()
                try:
                    response = await request(http)
                except httpx.HTTPError as error:
                    traffic.outcomes.append(
                        Outcome(label, started, time.monotonic() - started, None,
                                type(error).__name__)
                    )  # fmt: skip
                    await asyncio.sleep(0.05)
                    continue
                body = None
                with contextlib.suppress(ValueError):
                    body = response.json() if response.content else None
                traffic.outcomes.append(
                    Outcome(label, started, time.monotonic() - started, response.status_code,
                            body=body)
                )  # fmt: skip
                if pause_s:
                    await asyncio.sleep(pause_s)

    await asyncio.gather(*(worker(n) for n in range(workers)))


async def history(base_url: str, account: Any, room_id: str) -> list[dict[str, Any]]:
    """Every message of a room (`account` has `.token`), ascending by seq."""
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=30) as http:
            response = await http.get(
                f"/chat/rooms/{room_id}/messages",
                params={"after": after, "limit": 100},
                headers={"Authorization": f"Bearer {account.token}"},
            )
        assert response.status_code == 200, response.text
        page: list[dict[str, Any]] = response.json()["items"]
        items += page
        if len(page) < 100:
            return items
        after = int(page[-1]["seq"])


def is_contract_error(body: object, code: str) -> bool:
    """`{"error": {"code", "message", "request_id"}}` with the given code."""
    if not isinstance(body, dict) or set(body) != {"error"}:
        return False
    error = body["error"]
    return (
        isinstance(error, dict)
        and error.get("code") == code
        and isinstance(error.get("message"), str)
        and isinstance(error.get("request_id"), str)
    )
