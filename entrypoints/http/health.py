from __future__ import annotations

import asyncio
import time
from typing import Literal

from pydantic import BaseModel, Field
from quart import Blueprint, Response, jsonify, request
from quart_schema import document_querystring, document_response

from entrypoints.health_probe import uptime_s
from entrypoints.http.deps import container
from ports.health import DependencyProbe
from schemas.common import omitted_when_none

blueprint = Blueprint("health", __name__)


class HealthQuery(BaseModel):
    deep: str | None = Field(
        default=None,
        description="`1` or `true`: also check each dependency; any other value: the plain check",
    )


class Check(BaseModel):
    ok: bool
    latency_ms: float
    adapter: str
    error: str | None = None


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    uptime_s: float
    checks: dict[str, Check] | None = omitted_when_none("with `deep=1` only")


@blueprint.get("/health")
@document_querystring(HealthQuery)
@document_response(Health, 200)
@document_response(Health, 503)
async def get_health() -> Response:
    """Liveness; with `deep=1`, each dependency is checked with a short timeout (503 if one fails).

    The plain check touches no dependency, so platform probes never wake a database.
    """
    settings = container().settings()
    body: dict[str, object] = {
        "status": "ok",
        "version": settings.version,
        "uptime_s": uptime_s(),
    }
    status = 200
    if request.args.get("deep") in ("1", "true"):
        probes: list[DependencyProbe] = container().adapters.probes()
        results = await asyncio.gather(
            *(_check(p, settings.health_check_timeout_s) for p in probes)
        )
        checks = {p.name: r for p, r in zip(probes, results, strict=True)}
        body["checks"] = checks
        if not all(c["ok"] for c in checks.values()):
            body["status"], status = "degraded", 503
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


async def _check(probe: DependencyProbe, timeout_s: float) -> dict[str, object]:
    started = time.perf_counter()
    error = None
    try:
        async with asyncio.timeout(timeout_s):
            await probe.check()
    except TimeoutError:
        error = "timeout"
    except Exception:
        error = "unavailable"
    latency = round((time.perf_counter() - started) * 1000, 2)
    return {"ok": error is None, "latency_ms": latency, "adapter": probe.adapter, "error": error}
