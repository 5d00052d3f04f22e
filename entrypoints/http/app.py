"""The Quart application factory: routes under /api/v1, OpenAPI, CORS, errors, request ids."""

from __future__ import annotations

import os
import re
from functools import partial
from typing import Any, NoReturn

import quart_cors
from quart import Blueprint, Quart, Response, request
from quart.ctx import AppContext
from quart.wrappers import Request
from quart_cors import cors
from quart_schema import Info, QuartSchema

from config.container import Container
from config.origins import OriginPolicy
from entrypoints.client_address import ClientAddress
from entrypoints.http import (
    admin,
    asyncapi,
    auth,
    blobs,
    chat,
    client_config,
    dev,
    errors,
    federation,
    files,
    health,
    mail,
    passkeys,
    streaming,
    users,
    web,
)
from entrypoints.http.cookies import CSRF_HEADER, TRANSPORT_HEADER
from entrypoints.http.errors import MalformedJson, register_error_handlers
from entrypoints.http.guard import install_rate_headers
from entrypoints.http.openapi import FlowHubOpenAPI
from entrypoints.http.request_id import HEADER as REQUEST_ID_HEADER
from entrypoints.http.request_id import install_request_id

API_PREFIX = "/api/v1"
_STREAMED = re.compile(rf"^{API_PREFIX}/files(/blob/[^/]+)?/?$")


class FlowHubRequest(Request):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.method in ("POST", "PUT") and _STREAMED.match(self.path):
            # Upload routes stream their body under their own limit (entrypoints/http/files.py)
            self.body = streaming.StreamedBody(self.content_length)

    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return await super().get_json(force, silent, cache)
        # Quart decodes the body before parsing it; the standard parser recurses per level
        # of nesting, so 30,000 `[` exhaust the stack
        except (UnicodeDecodeError, RecursionError) as error:
            if silent:
                return None
            self.on_json_loading_failed(error)

    def on_json_loading_failed(self, error: Exception) -> NoReturn:
        raise MalformedJson()


class FlowHubQuart(Quart):
    async def make_default_options_response(self, ctx: AppContext) -> Response:
        """`Allow` lists the methods of the route that matched, not of every rule the path also
        fits: `/files/uploads` is the upload route, not a file named `uploads` (Werkzeug's
        `allowed_methods()` would add the GET and DELETE of `/files/<file_id>`)."""
        rule = request.url_rule
        if rule is None:
            return await super().make_default_options_response(ctx)
        methods: set[str] = set()
        for other in self.url_map.iter_rules():
            if other.rule == rule.rule and other.methods:
                methods |= other.methods
        return self.response_class("", headers={"Allow": ", ".join(sorted(methods))})


def create_http_app(container: Container, extra_blueprints: list[Blueprint] | None = None) -> Quart:
    settings = container.settings()
    # no implicit /static route: the reference client has its own (entrypoints/http/web.py)
    app = FlowHubQuart("flowhub", static_folder=None)
    app.request_class = FlowHubRequest
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_json_bytes,
        QUART_SCHEMA_CONVERSION_PREFERENCE="pydantic",
    )
    app.extensions["container"] = container

    QuartSchema(
        app,
        openapi_path="/openapi.json",
        swagger_ui_path=None,  # /docs is the vendored Swagger UI (entrypoints/http/web.py)
        redoc_ui_path=None,
        scalar_ui_path=None,
        info=Info(title="FlowHub API", version=settings.version),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer", "bearer_format": "JWT"}},
        openapi_provider_class=FlowHubOpenAPI,
    )
    # after QuartSchema has installed its JSON provider, or the setting is lost
    app.json.sort_keys = False  # type: ignore[attr-defined]
    install_request_id(app)
    install_rate_headers(app)
    register_error_handlers(app)

    api = Blueprint("api", __name__, url_prefix=API_PREFIX)
    api.register_blueprint(auth.blueprint)
    api.register_blueprint(federation.blueprint)
    api.register_blueprint(passkeys.blueprint)
    api.register_blueprint(client_config.blueprint)
    api.register_blueprint(users.blueprint)
    api.register_blueprint(files.blueprint)
    api.register_blueprint(chat.blueprint)
    api.register_blueprint(chat.presence_blueprint)
    api.register_blueprint(mail.blueprint)
    api.register_blueprint(admin.blueprint)
    if not settings.uses_s3:
        api.register_blueprint(blobs.blueprint)
    if not settings.is_production and not settings.uses_ses:
        api.register_blueprint(dev.blueprint)
    for extra in extra_blueprints or []:
        api.register_blueprint(extra)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(asyncapi.blueprint)
    app.register_blueprint(web.create_blueprint(settings))
    app.register_blueprint(api)

    _install_cors(app, settings.origins)
    # The served app already set the client's address in front of the shedder and Socket.IO
    # (entrypoints/asgi.py); this makes the HTTP app alone, as tests run it, see the same one.
    app.asgi_app = ClientAddress(app.asgi_app, settings.trusted_proxy)  # type: ignore[method-assign, assignment]

    @app.teardown_request
    async def stop_streaming(_: BaseException | None) -> None:
        streaming.release(request)

    lifecycle = container.lifecycle()

    @app.before_serving
    async def start() -> None:
        lifecycle.start()

    @app.after_serving
    async def stop() -> None:
        await lifecycle.stop()

    return app


def _install_cors(app: Quart, origins: OriginPolicy) -> None:
    options: dict[str, Any] = {
        "allow_origin": origins.for_quart_cors(),
        "allow_headers": [
            "Authorization",
            "Content-Type",
            REQUEST_ID_HEADER,
            TRANSPORT_HEADER,
            CSRF_HEADER,
        ],
        "allow_methods": ["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
        "expose_headers": [
            REQUEST_ID_HEADER,
            "ETag",  # a multipart part PUT's answer (development storage), as S3's CORS rule
            "Retry-After",
            CSRF_HEADER,  # the cookie transport's CSRF token (entrypoints/http/cookies.py)
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
        ],
        "max_age": 600,
    }
    if not origins.anything:
        # the refresh-token cookie (entrypoints/http/cookies.py) needs credentialed requests;
        # only ever for listed origins: with `*` a browser refuses it, and so do we
        options["allow_credentials"] = True
    if os.environ.get("BENCH_AB_CORS") == "library":  # bench/http_ab.py's arm: quart-cors as is
        cors(app, **options)
        return

    # quart-cors's after-request hook converts every option (origin set, header sets, max age)
    # again on each response, ~10% of a signed-in GET in the profile
    # (docs/decisions/performance-baseline.md); the options are fixed, so they are converted
    # once here and each response only runs its `_apply_cors`. No route is exempted
    # (`cors_exempt` is not used), so the hook skips quart-cors's exemption lookup too.
    # quart-cors 0.8's private helpers: pinned by tests/api/test_cors_prepared.py.
    def config(key: str) -> bool:
        return bool(app.config.get(key, quart_cors.DEFAULTS[key]))

    # every option is given, so the converters never read the app's config (no context needed)
    prepared: dict[str, Any] = {
        "allow_credentials": bool(
            options.get("allow_credentials", config("QUART_CORS_ALLOW_CREDENTIALS"))
        ),
        "allow_headers": quart_cors._sanitise_header_set(
            options["allow_headers"], "QUART_CORS_ALLOW_HEADERS"
        ),
        "allow_methods": quart_cors._sanitise_header_set(
            options["allow_methods"], "QUART_CORS_ALLOW_METHODS"
        ),
        "allow_origin": quart_cors._sanitise_origin_set(
            options["allow_origin"], "QUART_CORS_ALLOW_ORIGIN"
        ),
        "expose_headers": quart_cors._sanitise_header_set(
            options["expose_headers"], "QUART_CORS_EXPOSE_HEADERS"
        ),
        "max_age": quart_cors._sanitise_max_age(options["max_age"], "QUART_CORS_MAX_AGE"),
        "send_origin_wildcard": config("QUART_CORS_SEND_ORIGIN_WILDCARD"),
    }

    @app.after_request
    async def apply_cors(response: Response) -> Response:
        return quart_cors._apply_cors(
            request.origin,
            request.access_control_request_headers,
            request.access_control_request_method,
            request.method,
            response,
            **prepared,
        )

    app.before_websocket(
        partial(
            quart_cors._before_websocket,
            allow_origin=prepared["allow_origin"],
            send_origin_wildcard=prepared["send_origin_wildcard"],
        )
    )


__all__ = ["API_PREFIX", "create_http_app", "errors"]
