"""A preview deployment's origin, matched by a CORS_ORIGINS pattern, reaches a real server over
HTTP (preflight and answer) and Socket.IO (Engine.IO refuses other origins); a look-alike gets
neither."""

from __future__ import annotations

import httpx
import pytest

from tests.support.processes import running_server

pytestmark = pytest.mark.api

ENV = {
    "APP_ENV": "development",
    "CORS_ORIGINS": "https://myapp-*-team.vercel.app,https://app.flowhub.example",
}
PREVIEW = "https://myapp-git-feature-x-team.vercel.app"
LOOK_ALIKES = [
    "https://myapp-git-feature-x-team.vercel.app.evil.com",
    "https://evilmyapp-x-team.vercel.app",
    "https://myapp-x.evil-team.vercel.app",
    "http://myapp-x-team.vercel.app",
]


async def test_http_cors_follows_the_pattern() -> None:
    with running_server(env=ENV) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            preflight = await http.options(
                "/api/v1/auth/login",
                headers={
                    "Origin": PREVIEW,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type",
                },
            )
            assert preflight.headers.get("access-control-allow-origin") == PREVIEW
            answer = await http.get("/health", headers={"Origin": PREVIEW})
            assert answer.headers.get("access-control-allow-origin") == PREVIEW
            assert "X-Request-ID" in answer.headers.get("access-control-expose-headers", "")
            for origin in LOOK_ALIKES:
                refused = await http.get("/health", headers={"Origin": origin})
                assert "access-control-allow-origin" not in refused.headers, origin


async def test_socketio_accepts_the_preview_origin_and_refuses_look_alikes() -> None:
    handshake = "/socket.io/?EIO=4&transport=polling"
    with running_server(env=ENV) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            allowed = await http.get(handshake, headers={"Origin": PREVIEW})
            assert allowed.status_code == 200
            assert allowed.headers.get("access-control-allow-origin") == PREVIEW
            assert '"sid"' in allowed.text
            for origin in LOOK_ALIKES:
                refused = await http.get(handshake, headers={"Origin": origin})
                assert refused.status_code == 400, origin
                assert "access-control-allow-origin" not in refused.headers
