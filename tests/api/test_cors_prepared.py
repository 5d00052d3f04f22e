"""The CORS hook that converts quart-cors's options once (entrypoints/http/app.py) answers every
kind of request with the same headers as quart-cors's own hook, which converts them per
response: a preflight, a simple request, a refused origin, a pattern-matched origin, no origin.
It calls quart-cors 0.8's private `_apply_cors` and converters: this pins them."""

from __future__ import annotations

import pytest

from tests.api.conftest import AppFactory

pytestmark = pytest.mark.api

ENV = {"CORS_ORIGINS": "https://app.flowhub.example,https://myapp-*-team.vercel.app"}
CORS_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-headers",
    "access-control-allow-methods",
    "access-control-expose-headers",
    "access-control-max-age",
    "vary",
)
REQUESTS: list[tuple[str, str, dict[str, str]]] = [
    (
        "OPTIONS",
        "/api/v1/auth/login",
        {
            "Origin": "https://app.flowhub.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-request-id, x-other",
        },
    ),
    (
        "OPTIONS",
        "/api/v1/users/me",
        {"Origin": "https://app.flowhub.example", "Access-Control-Request-Method": "GET"},
    ),
    ("GET", "/health?deep=no", {"Origin": "https://app.flowhub.example"}),
    ("GET", "/health?deep=no", {"Origin": "https://myapp-git-x-team.vercel.app"}),
    ("GET", "/health?deep=no", {"Origin": "https://evil.example"}),
    ("GET", "/health?deep=no", {}),
    ("GET", "/api/v1/users/me", {"Origin": "https://app.flowhub.example"}),  # a 401
    ("GET", "/api/v1/nowhere", {"Origin": "https://app.flowhub.example"}),  # a 404
]


async def _answers(make_app: AppFactory) -> list[dict[str, str | None]]:
    app, _ = make_app(ENV)
    answers = []
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for method, path, headers in REQUESTS:
            reply = await client.open(path, method=method, headers=headers, json=None)
            answers.append({name: reply.headers.get(name) for name in CORS_HEADERS})
    return answers


async def test_the_prepared_hook_answers_as_quart_cors_does(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BENCH_AB_CORS", raising=False)
    prepared = await _answers(make_app)
    monkeypatch.setenv("BENCH_AB_CORS", "library")
    library = await _answers(make_app)
    assert prepared == library
    # the comparison covers granted and refused origins, and a preflight's grant
    assert prepared[0]["access-control-allow-origin"] == "https://app.flowhub.example"
    assert prepared[0]["access-control-max-age"] == "600"
    assert "x-request-id" in (prepared[0]["access-control-allow-headers"] or "").lower()
    assert prepared[3]["access-control-allow-origin"] == "https://myapp-git-x-team.vercel.app"
    assert prepared[4]["access-control-allow-origin"] is None
    assert prepared[5]["vary"] is not None
