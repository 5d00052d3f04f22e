"""The Quart application factory: routes under /api/v1, OpenAPI, CORS, errors, request ids."""

from __future__ import annotations

import re
from typing import Any, NoReturn

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
    files,
    health,
    mail,
    passkeys,
    streaming,
    users,
    web,
)
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
        "allow_headers": ["Authorization", "Content-Type", REQUEST_ID_HEADER],
        "allow_methods": ["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
        "expose_headers": [
            REQUEST_ID_HEADER,
            "ETag",  # a multipart part PUT's answer (development storage), as S3's CORS rule
            "Retry-After",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
        ],
        "max_age": 600,
    }
    cors(app, **options)


__all__ = ["API_PREFIX", "create_http_app", "errors"]
