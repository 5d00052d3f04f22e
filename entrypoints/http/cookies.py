"""The opt-in cookie transport of the refresh token (README "Cookies for server rendering").

A client that sends `X-FlowHub-Token-Transport: cookie` on a sign-in or a refresh gets the
refresh token in an HttpOnly cookie instead of the answer's body, and a CSRF token (a readable
cookie and the `X-CSRF-Token` answer header). `POST /auth/refresh` and `POST /auth/logout` read
the cookie when the body has no token, and only for a request that passes both CSRF checks: an
`Origin` on the CORS allow-list, and an `X-CSRF-Token` equal to the HMAC of the cookie's token
(a page of another site can neither read that value nor forge it). Nothing is stored: the check
costs no Redis command and no MongoDB byte. A token in the body works as before, without CSRF
checks, since nothing ambient authenticates it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from quart import Response, g, make_response, request

from domain.auth.errors import CsrfRejected
from domain.auth.policy import AuthPolicy
from entrypoints.http.deps import container

TRANSPORT_HEADER = "X-FlowHub-Token-Transport"
CSRF_HEADER = "X-CSRF-Token"
_FROM_COOKIE = "flowhub_refresh_from_cookie"
_DEVELOPMENT_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})


@dataclass(frozen=True, slots=True)
class CookieShape:
    refresh_name: str
    csrf_name: str
    path: str
    samesite: str
    secure: bool


def shape() -> CookieShape:
    """The cookies' names and attributes for this request. Secure always, but over plain http
    on this machine in development (a browser drops a Secure cookie an http page sets, and
    refuses a __Secure-/__Host- name without it)."""
    settings = container().settings()
    host = request.host.rsplit(":", 1)[0] if not request.host.startswith("[") else "[::1]"
    secure = not (
        settings.app_env == "development"
        and request.scheme == "http"
        and host in _DEVELOPMENT_HOSTS
    )
    path = settings.auth_cookie_path
    if not secure:
        return CookieShape(
            "flowhub-refresh", "flowhub-csrf", path, settings.auth_cookie_samesite, False
        )
    # __Host- needs Path=/ (and no Domain); under /api/v1/auth the strongest prefix is __Secure-
    refresh = ("__Host-" if path == "/" else "__Secure-") + "flowhub-refresh"
    return CookieShape(refresh, "__Host-flowhub-csrf", path, settings.auth_cookie_samesite, True)


def wants_cookie() -> bool:
    return request.headers.get(TRANSPORT_HEADER, "").strip().lower() == "cookie"


def csrf_token(refresh_token: str) -> str:
    """The CSRF token of a refresh token: an HMAC under the refresh secret, so it rotates with
    the token and proves nothing but having read an answer or cookie of the front end."""
    key = container().settings().jwt_refresh_secret.encode()
    digest = hmac.new(key, b"csrf:" + refresh_token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


def _check_origin() -> None:
    """The request's `Origin` is a listed front end. `*` lists none here: an ambient credential
    is never offered to any site."""
    origins = container().settings().origins
    origin = request.headers.get("Origin")
    if origins.anything or not origins.allows(origin):
        raise CsrfRejected()


def refresh_token(sent: str | None) -> str | None:
    """The body's refresh token as today; without one, the cookie's, after both CSRF checks."""
    if sent:
        return sent
    token = request.cookies.get(shape().refresh_name)
    if not token:
        return None
    _check_origin()
    proof = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(proof.encode(), csrf_token(token).encode()):
        raise CsrfRejected()
    setattr(g, _FROM_COOKIE, True)
    return token


def _cookie_mode() -> bool:
    return wants_cookie() or bool(getattr(g, _FROM_COOKIE, False))


type Handler = Callable[..., Awaitable[Any]]


def issues_cookie(handler: Handler) -> Handler:
    """On a route answering a TokenPair: in cookie mode, move the refresh token from the body to
    the cookie. Placed right under the route decorator, so it sees the final answer."""

    @wraps(handler)
    async def wrapper(*args: Any, **kwargs: Any) -> Response:
        if wants_cookie():
            _check_origin()  # before signing in: a foreign page gets no session, not even one
        response = await _answer(handler, *args, **kwargs)
        if not _cookie_mode() or response.status_code != 200:
            return response
        body = await response.get_json()
        if isinstance(body, dict) and body.get("token_type") == "bearer":
            token = body.pop("refresh_token", None)
            if isinstance(token, str):
                response.set_data(json.dumps(body, separators=(",", ":")))
                _set(response, token)
        return response

    return wrapper


def clears_cookie(handler: Handler) -> Handler:
    """On logout: in cookie mode, the cookies go with the session."""

    @wraps(handler)
    async def wrapper(*args: Any, **kwargs: Any) -> Response:
        response = await _answer(handler, *args, **kwargs)
        if _cookie_mode() and response.status_code < 300:
            cookies = shape()
            response.delete_cookie(
                cookies.refresh_name,
                path=cookies.path,
                secure=cookies.secure,
                httponly=True,
                samesite=cookies.samesite,
            )
            response.delete_cookie(
                cookies.csrf_name, path="/", secure=cookies.secure, samesite=cookies.samesite
            )
        return response

    return wrapper


async def _answer(handler: Handler, *args: Any, **kwargs: Any) -> Response:
    response = await make_response(await handler(*args, **kwargs))
    assert isinstance(response, Response)
    return response


def _set(response: Response, token: str) -> None:
    cookies = shape()
    proof = csrf_token(token)
    max_age = AuthPolicy().refresh_ttl_s
    response.set_cookie(
        cookies.refresh_name,
        token,
        max_age=max_age,
        path=cookies.path,
        secure=cookies.secure,
        httponly=True,
        samesite=cookies.samesite,
    )
    # readable by the front end's pages (Path=/): how a first-party page finds its CSRF token
    response.set_cookie(
        cookies.csrf_name,
        proof,
        max_age=max_age,
        path="/",
        secure=cookies.secure,
        httponly=False,
        samesite=cookies.samesite,
    )
    response.headers[CSRF_HEADER] = proof
    response.headers["Cache-Control"] = "no-store"


# The OpenAPI side: the opt-in header on the routes that sign in or renew, the CSRF header on
# those that read the cookie, and what a cookie-mode answer carries (entrypoints/http/openapi.py)
_ISSUING = ("login", "verify-email", "otp/verify", "mfa", "refresh")
_READING = ("refresh", "logout")
_COOKIE_NOTE = (
    'README "Cookies for server rendering": the refresh token in the HttpOnly'
    " `__Secure-flowhub-refresh` cookie (Path=/api/v1/auth; `__Host-` with Path=/) and the CSRF"
    " token in `__Host-flowhub-csrf` and this header"
)


def document(openapi: dict[str, Any]) -> None:
    """Add the cookie transport's headers to the auth operations of an OpenAPI document."""
    paths: dict[str, Any] = openapi["paths"]
    for route in sorted({*_ISSUING, *_READING}):
        operation = paths.get(f"/api/v1/auth/{route}", {}).get("post")
        if operation is None:
            continue
        parameters = operation.setdefault("parameters", [])
        if route in _ISSUING:
            parameters.append(
                {
                    "name": TRANSPORT_HEADER,
                    "in": "header",
                    "required": False,
                    "description": "`cookie`: the refresh token in a cookie, not the body ("
                    + _COOKIE_NOTE
                    + "); needs an `Origin` listed in CORS_ORIGINS",
                    "schema": {"type": "string", "enum": ["cookie"]},
                }
            )
            answer = operation["responses"].get("200")
            if answer is not None:
                answer.setdefault("headers", {})[CSRF_HEADER] = {
                    "description": "cookie transport only: the CSRF token to echo",
                    "schema": {"type": "string"},
                }
        if route in _READING:
            parameters.append(
                {
                    "name": CSRF_HEADER,
                    "in": "header",
                    "required": False,
                    "description": "with the refresh-token cookie and no body token: the CSRF"
                    " token of that cookie (else 403 `csrf_rejected`)",
                    "schema": {"type": "string"},
                }
            )
