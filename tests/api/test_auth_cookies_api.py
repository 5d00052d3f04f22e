"""The opt-in cookie transport of the refresh token (README "Cookies for server rendering"),
through the real HTTP app: the cookie's attributes, refresh and logout by cookie, the CSRF
refusals (the attack: a page of another site riding the ambient cookie), body mode unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from typing import Any

import pytest
import pytest_asyncio
from werkzeug.datastructures import Headers

from tests.api.auth_client import API, PASSWORD, AuthClient, use_fast_hasher
from tests.api.conftest import AppFactory

pytestmark = pytest.mark.api

EMAIL = "ada@example.com"
FRONT = "https://app.flowhub.example"
PREVIEW = "https://flowhub-v1-git-feature-team.vercel.app"
ORIGINS = f"{FRONT},https://flowhub-v1-*-team.vercel.app"
REFRESH = "__Secure-flowhub-refresh"
CSRF = "__Host-flowhub-csrf"
COOKIE_MODE = {"X-FlowHub-Token-Transport": "cookie"}


class CookieClient(AuthClient):
    """Sends cookies by hand, as a browser would, whatever the test client's scheme."""

    async def raw(self, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any, Headers]:
        response = await self.client.post(f"{API}{path}", json=body, headers=headers)
        return response.status_code, await response.get_json(), response.headers


@pytest_asyncio.fixture
async def api(make_app: AppFactory) -> AsyncIterator[CookieClient]:
    app, container = make_app({"CORS_ORIGINS": ORIGINS})
    use_fast_hasher(container)
    async with app.test_app():
        yield CookieClient(app.test_client(use_cookies=False), container)


def jar(headers: Headers) -> SimpleCookie:
    cookies: SimpleCookie = SimpleCookie()
    for line in headers.getlist("Set-Cookie"):
        cookies.load(line)
    return cookies


async def cookie_login(api: CookieClient) -> tuple[dict[str, Any], str, str]:
    """A signed-up user signs in in cookie mode: the answer, the refresh cookie, the CSRF token."""
    await api.signed_up(EMAIL)
    status, body, headers = await api.raw(
        "/auth/login", {"email": EMAIL, "password": PASSWORD}, {**COOKIE_MODE, "Origin": FRONT}
    )
    assert status == 200, body
    cookies = jar(headers)
    return body, cookies[REFRESH].value, headers["X-CSRF-Token"]


def by_cookie(refresh: str, csrf: str | None, origin: str | None = FRONT) -> dict[str, str]:
    headers = {"Cookie": f"{REFRESH}={refresh}"}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    if origin is not None:
        headers["Origin"] = origin
    return headers


async def test_login_sets_the_cookie_and_keeps_the_refresh_token_out_of_the_body(
    api: CookieClient,
) -> None:
    await api.signed_up(EMAIL)
    status, body, headers = await api.raw(
        "/auth/login", {"email": EMAIL, "password": PASSWORD}, {**COOKIE_MODE, "Origin": FRONT}
    )
    assert status == 200
    assert "refresh_token" not in body
    assert body["token_type"] == "bearer" and body["access_token"]
    lines = {line.split("=", 1)[0]: line for line in headers.getlist("Set-Cookie")}
    refresh = lines[REFRESH]
    for attribute in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/api/v1/auth", "Max-Age="):
        assert attribute in refresh, refresh
    assert "Domain" not in refresh
    csrf = lines[CSRF]
    assert "Secure" in csrf and "Path=/;" in csrf + ";" and "HttpOnly" not in csrf
    assert jar(headers)[CSRF].value == headers["X-CSRF-Token"]
    assert headers["Access-Control-Allow-Origin"] == FRONT
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert "X-CSRF-Token" in headers["Access-Control-Expose-Headers"]
    assert headers["Cache-Control"] == "no-store"


async def test_preflight_allows_the_headers_with_credentials(api: CookieClient) -> None:
    response = await api.client.options(
        f"{API}/auth/refresh",
        headers={
            "Origin": PREVIEW,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-csrf-token, x-flowhub-token-transport",
        },
    )
    assert response.headers["Access-Control-Allow-Origin"] == PREVIEW
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "x-csrf-token" in allowed and "x-flowhub-token-transport" in allowed


async def test_refresh_by_cookie_rotates_it(api: CookieClient) -> None:
    _, refresh, csrf = await cookie_login(api)
    status, body, headers = await api.raw("/auth/refresh", {}, by_cookie(refresh, csrf))
    assert status == 200, body
    assert "refresh_token" not in body and body["access_token"]
    renewed = jar(headers)[REFRESH].value
    assert renewed != refresh
    assert headers["X-CSRF-Token"] != csrf
    # the old cookie is spent: past its one grace use (two tabs racing), its reuse revokes
    # the family, as with a body token
    status, _, _ = await api.raw("/auth/refresh", {}, by_cookie(refresh, csrf))
    assert status == 200
    status, body, _ = await api.raw("/auth/refresh", {}, by_cookie(refresh, csrf))
    assert status == 401
    assert body["error"]["code"] == "token_reused"


@pytest.mark.parametrize(
    ("csrf", "origin"),
    [
        ("right", "https://evil.example"),  # a foreign site (it cannot know the token anyway)
        ("right", None),  # no Origin at all
        ("right", "https://flowhub-v1-git-x-team.vercel.app.evil.example"),  # preview look-alike
        ("right", "https://flowhub-v1-git-x-team.vercel.app:8443"),  # another origin of the host
        ("right", "*"),
        (None, FRONT),  # the cookie rides along, the token is missing
        ("wrong", FRONT),  # a forged token
        ("", FRONT),
    ],
)
async def test_a_cross_site_refresh_is_refused_and_the_session_untouched(
    api: CookieClient, csrf: str | None, origin: str | None
) -> None:
    _, refresh, real = await cookie_login(api)
    sent = {"right": real, "wrong": real[:-2] + ("AA" if real[-2:] != "AA" else "BB")}.get(
        csrf or "", csrf
    )
    status, body, headers = await api.raw("/auth/refresh", {}, by_cookie(refresh, sent, origin))
    assert status == 403, body
    assert set(body) == {"error"} and body["error"]["code"] == "csrf_rejected"
    assert not headers.getlist("Set-Cookie")
    # untouched: the token was not spent, and the front end itself still renews with it
    status, body, _ = await api.raw("/auth/refresh", {}, by_cookie(refresh, real))
    assert status == 200, body


async def test_a_token_of_another_session_is_no_csrf_proof(api: CookieClient) -> None:
    _, refresh, _ = await cookie_login(api)
    _, _, other_csrf = await api.raw(
        "/auth/login", {"email": EMAIL, "password": PASSWORD}, {**COOKIE_MODE, "Origin": FRONT}
    )
    status, body, _ = await api.raw(
        "/auth/refresh", {}, by_cookie(refresh, other_csrf["X-CSRF-Token"])
    )
    assert (status, body["error"]["code"]) == (403, "csrf_rejected")


async def test_a_foreign_page_cannot_sign_in_in_cookie_mode(api: CookieClient) -> None:
    await api.signed_up(EMAIL)
    status, body, headers = await api.raw(
        "/auth/login",
        {"email": EMAIL, "password": PASSWORD},
        {**COOKIE_MODE, "Origin": "https://evil.example"},
    )
    assert (status, body["error"]["code"]) == (403, "csrf_rejected")
    assert not headers.getlist("Set-Cookie")


async def test_logout_by_cookie_clears_it_and_ends_the_session(api: CookieClient) -> None:
    body, refresh, csrf = await cookie_login(api)
    access = body["access_token"]
    foreign = {
        **by_cookie(refresh, csrf, "https://evil.example"),
        "Authorization": f"Bearer {access}",
    }
    status, answer, _ = await api.raw("/auth/logout", {}, foreign)
    assert (status, answer["error"]["code"]) == (403, "csrf_rejected")
    headers = {**by_cookie(refresh, csrf), "Authorization": f"Bearer {access}"}
    status, _, answer_headers = await api.raw("/auth/logout", {}, headers)
    assert status == 204
    cleared = {line.split("=", 1)[0]: line for line in answer_headers.getlist("Set-Cookie")}
    assert "Max-Age=0" in cleared[REFRESH] and "Path=/api/v1/auth" in cleared[REFRESH]
    assert "Max-Age=0" in cleared[CSRF]
    status, answer, _ = await api.raw("/auth/refresh", {}, by_cookie(refresh, csrf))
    assert status == 401, answer


async def test_refresh_without_a_token_or_cookie_is_unauthorized(api: CookieClient) -> None:
    status, body, _ = await api.raw("/auth/refresh", {}, {"Origin": FRONT})
    assert (status, body["error"]["code"]) == (401, "unauthorized")


async def test_body_mode_is_unchanged(api: CookieClient) -> None:
    pair = await api.signed_up(EMAIL)
    assert pair["refresh_token"]
    status, body, headers = await api.raw(
        "/auth/login", {"email": EMAIL, "password": PASSWORD}, {"Origin": FRONT}
    )
    assert status == 200 and body["refresh_token"]
    assert not headers.getlist("Set-Cookie")
    # a body token needs no Origin nor CSRF token, even with a stray cookie alongside
    _, _, stray = await cookie_login_again(api)
    status, renewed, headers = await api.raw(
        "/auth/refresh", {"refresh_token": body["refresh_token"]}, {"Cookie": f"{REFRESH}={stray}"}
    )
    assert status == 200 and renewed["refresh_token"]
    assert not headers.getlist("Set-Cookie")


async def cookie_login_again(api: CookieClient) -> tuple[int, Any, str]:
    status, body, headers = await api.raw(
        "/auth/login", {"email": EMAIL, "password": PASSWORD}, {**COOKIE_MODE, "Origin": FRONT}
    )
    return status, body, jar(headers)[REFRESH].value


async def test_a_wildcard_allow_list_offers_no_cookie(make_app: AppFactory) -> None:
    app, container = make_app({"CORS_ORIGINS": "*"})
    use_fast_hasher(container)
    async with app.test_app():
        api = CookieClient(app.test_client(use_cookies=False), container)
        await api.signed_up(EMAIL)
        status, body, headers = await api.raw(
            "/auth/login",
            {"email": EMAIL, "password": PASSWORD},
            {**COOKIE_MODE, "Origin": FRONT},
        )
        assert (status, body["error"]["code"]) == (403, "csrf_rejected")
        assert "Access-Control-Allow-Credentials" not in headers


async def test_development_over_http_on_this_machine_drops_secure(make_app: AppFactory) -> None:
    app, container = make_app(
        {"APP_ENV": "development", "CORS_ORIGINS": "http://127.0.0.1:3000", "TRUSTED_PROXY": ""}
    )
    use_fast_hasher(container)
    async with app.test_app():
        api = CookieClient(app.test_client(use_cookies=False), container)
        await api.signed_up(EMAIL)
        response = await api.client.post(
            f"{API}/auth/login",
            json={"email": EMAIL, "password": PASSWORD},
            headers={**COOKIE_MODE, "Origin": "http://127.0.0.1:3000", "Host": "127.0.0.1:8000"},
        )
        assert response.status_code == 200, await response.get_json()
        lines = response.headers.getlist("Set-Cookie")
        refresh = next(line for line in lines if line.startswith("flowhub-refresh="))
        assert "Secure" not in refresh and "HttpOnly" in refresh
