"""The OpenAPI document, completed with what every route can answer and shaped the way code
generators (openapi-typescript, openapi-generator) expect.

quart-schema documents what a handler declares; the error shape, however, comes from the
shared error handlers, so it is added here once for every operation: 431 and 500 everywhere; 400
(invalid JSON), 413, 415 and 422 where there is a JSON body; 422 for query parameters; 503
when a dependency is down; 401 and 429 on 🔒 routes; and the 204 of handlers marked
`@no_content`. Then the whole document is made generator-friendly: every body is a named
component (`XOut` is `X`, `XIn` is `XRequest`, as in docs/api.md), response headers are
declared, operation ids are the handlers' names in camelCase, each operation has its
context's tag, public routes say `security: []` and development-only ones `x-dev-only`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from pydantic import TypeAdapter
from quart_schema import OpenAPIProvider
from quart_schema.typing import Model
from werkzeug.routing import Rule

from entrypoints.http import cookies
from schemas.common import ErrorResponse

_NO_CONTENT = "_flowhub_no_content"
_REDIRECT = "_flowhub_redirect"

_BODY_ERRORS: dict[int, str] = {
    400: "The body is not valid JSON (`invalid_json`).",
    413: "The body is too large (`payload_too_large`).",
    415: "The body is not JSON (`unsupported_media_type`).",
    422: "The body does not match the schema (`validation_error`, with `details`).",
}
_FORM_ERRORS: dict[int, str] = {
    400: "The multipart body is malformed or incomplete (`bad_request`).",
    413: "The body is too large (`payload_too_large`).",
    415: "The body is not multipart/form-data, or the file's type is refused "
    "(`unsupported_media_type`).",
    422: "A required part is missing (`validation_error`, with `details`).",
}
_AUTH_ERRORS: dict[int, str] = {
    401: "Missing, malformed, expired or tampered access token (`unauthorized`).",
    429: "Over the per-user quota (`too_many_requests`, with `Retry-After`).",
}

_SCHEMAS = "#/components/schemas/"
_HEADERS = "#/components/headers/"

# Response headers, declared once and referenced by every response that carries them.
HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id (the client's own when it sent a sane one); quote it "
        "when reporting a problem.",
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-RateLimit-Limit": {
        "description": "Requests allowed per window (🔒 routes: the caller's API quota).",
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current window.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-RateLimit-Reset": {
        "description": "Seconds until the window resets.",
        "schema": {"type": "integer", "minimum": 0},
    },
}
_RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")

# Blueprint -> tag: one tag per context.
_TAGS: dict[str, str] = {
    "auth": "auth",
    "federation": "auth",
    "passkeys": "auth",
    "users": "users",
    "files": "files",
    "blobs": "dev",
    "chat": "chat",
    "presence": "chat",
    "dev": "dev",
    "health": "operations",
    "client_config": "operations",
    "ses": "operations",
    "admin": "admin",
}
TAGS: list[dict[str, str]] = [
    {"name": "auth", "description": "Sign up, log in (password, code or passkey), tokens, reset."},
    {"name": "users", "description": "The signed-in user."},
    {"name": "files", "description": "Uploads (multipart or direct to storage) and downloads."},
    {"name": "chat", "description": "Rooms, messages and presence (realtime: /asyncapi.json)."},
    {
        "name": "operations",
        "description": "Health checks; this deployment's limits; SES's notifications.",
    },
    {
        "name": "admin",
        "description": "Administrators only (ADMIN_EMAILS): users, rooms, files, free-tier "
        "gauges. Anyone else gets the unknown route's 404.",
    },
    {
        "name": "dev",
        "description": "Development only (`x-dev-only`): the mailbox and the in-memory "
        "storage's presigned URLs. Absent in production.",
    },
]
_DEV_ONLY = {"dev", "blobs"}


def component_name(title: str) -> str:
    """The contract's name for a schema class: `UserOut` is `User`, `SignupIn` is
    `SignupRequest`."""
    if title.endswith("Out") and len(title) > 3:
        return title[:-3]
    if title.endswith("In") and len(title) > 2:
        return title[:-2] + "Request"
    return title


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _renamed(node: Any) -> Any:
    """The document with every `$ref` (and discriminator mapping) to a component renamed."""
    if isinstance(node, dict):
        return {k: _renamed(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_renamed(v) for v in node]
    if isinstance(node, str) and node.startswith(_SCHEMAS):
        return _SCHEMAS + component_name(node.removeprefix(_SCHEMAS))
    return node


def _hoisted(media: dict[str, Any], components: dict[str, Any]) -> None:
    """A body's inline model schema becomes a named component it refers to."""
    schema = media.get("schema")
    if not isinstance(schema, dict) or "$ref" in schema or "title" not in schema:
        return
    name = component_name(schema["title"])
    components.setdefault(name, schema)
    media["schema"] = {"$ref": _SCHEMAS + name}


def no_content[F: Callable[..., Any]](handler: F) -> F:
    """Document a 204 with no body for this handler."""
    setattr(handler, _NO_CONTENT, True)
    return handler


def redirects(description: str) -> Callable[[Any], Any]:
    """Document a 302 to the `Location` header for this handler."""

    def mark[F: Callable[..., Any]](handler: F) -> F:
        setattr(handler, _REDIRECT, description)
        return handler

    return mark


class FlowHubOpenAPI(OpenAPIProvider):
    def schema(self) -> dict[str, Any]:
        document = super().schema()
        components: dict[str, Any] = document["components"]["schemas"]
        for operations in document["paths"].values():
            for operation in operations.values():
                for media in operation.get("requestBody", {}).get("content", {}).values():
                    _hoisted(media, components)
                for response in operation["responses"].values():
                    for media in response.get("content", {}).values():
                        _hoisted(media, components)
        document = dict(_renamed(document))
        schemas = document["components"]["schemas"]
        for old in list(schemas):
            new = component_name(old)
            schema = schemas.pop(old)
            if "title" in schema:
                schema["title"] = new
            schemas[new] = schema
        document["components"]["schemas"] = dict(sorted(schemas.items()))
        document["components"]["headers"] = HEADERS
        cookies.document(document)
        document["tags"] = TAGS
        document["servers"] = [{"url": "/", "description": "this server"}]
        return document

    def operation_id(self, method: str, path: str, func: Callable[..., Any]) -> str | None:
        """The handler's name in camelCase: `listFiles`, `createRoom`."""
        return camel(func.__name__)

    def build_querystring_parameters(
        self, model: type[Model]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """quart-schema marks no query parameter required and lets optional ones be `null`,
        which a query string cannot say (`?cursor=null` is the string "null"): the model's
        required fields are marked, and optional ones are simply absent when not sent."""
        parameters, components = super().build_querystring_parameters(model)
        required = set(TypeAdapter(model).json_schema().get("required", ()))
        for parameter in parameters:
            schema = parameter["schema"]
            variants = schema.get("anyOf")
            if variants is not None:
                kept = [v for v in variants if v != {"type": "null"}]
                if len(kept) == 1:
                    del schema["anyOf"]
                    schema.update(kept[0])
                else:
                    schema["anyOf"] = kept
            if schema.get("default", ...) is None:
                del schema["default"]
            if parameter["name"] in required:
                parameter["required"] = True
        return parameters, components

    def build_request_body(self, model: type[Model], source: Any) -> tuple[dict[str, Any], Any]:
        """A route that validates a body requires one (quart-schema leaves `required` out)."""
        body, components = super().build_request_body(model, source)
        return {"required": True, **body}, components

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        error_object, error_components = self.build_response_object(ErrorResponse, None)
        components.update(error_components)
        func = self._app.view_functions[rule.endpoint]
        parts = rule.endpoint.split(".")
        blueprint = parts[-2] if len(parts) > 1 else ""
        for operations in paths.values():
            for method, built in operations.items():
                operation = dict(built)
                if func.__doc__:
                    operation.update(_summary(inspect.getdoc(func) or ""))
                if blueprint in _TAGS:
                    operation["tags"] = [_TAGS[blueprint]]
                if blueprint in _DEV_ONLY:
                    operation["x-dev-only"] = True
                if not operation.get("security"):
                    operation["security"] = []  # public: no token needed
                responses: dict[int, Any] = dict(operation["responses"])
                if getattr(func, _NO_CONTENT, False):
                    responses.setdefault(204, {"description": "Done; no content."})
                if redirect := getattr(func, _REDIRECT, None):
                    responses.setdefault(
                        302,
                        {
                            "description": redirect,
                            "headers": {"Location": {"schema": {"type": "string"}}},
                        },
                    )
                extra: dict[int, str] = {
                    # any request: the server reads at most a 32 KiB head (a long query string
                    # counts) and 100 headers (entrypoints/http/streaming.py)
                    431: "The request line and headers exceed 32 KiB, or there are over 100 "
                    "headers (`headers_too_large`).",
                    500: "Something went wrong on our side (`internal_error`).",
                    503: "A service it needs is unavailable (`service_unavailable`).",
                }
                if any(p["in"] == "query" for p in operation.get("parameters", ())):
                    extra[422] = "A query parameter is not valid (`validation_error`)."
                if "requestBody" in operation:
                    content = operation["requestBody"].get("content", {})
                    extra |= _FORM_ERRORS if "multipart/form-data" in content else _BODY_ERRORS
                if operation.get("security"):
                    extra |= _AUTH_ERRORS
                for status, description in extra.items():
                    responses.setdefault(status, {**error_object, "description": description})
                guarded = bool(operation["security"])
                operations[method] = {
                    **operation,
                    "responses": {
                        code: _with_headers(code, response, guarded)
                        for code, response in responses.items()
                    },
                }
        return paths, components


def _summary(doc: str) -> dict[str, str]:
    """quart-schema takes a docstring's first line as the summary, though it is often half a
    sentence: the summary is the first sentence, the description the whole text."""
    paragraphs = [" ".join(p.split()) for p in doc.split("\n\n") if p.strip()]
    first = paragraphs[0] if paragraphs else ""
    summary = first.split(". ", 1)[0].rstrip(".")
    return {"summary": summary, "description": "\n\n".join(paragraphs)}


def _with_headers(status: int, response: dict[str, Any], guarded: bool) -> dict[str, Any]:
    """Every response carries X-Request-ID; a 429 and the busy 503 `Retry-After`; a 🔒 route's
    answers the caller's quota (`X-RateLimit-*`, once the token is valid)."""
    names = ["X-Request-ID"]
    if status in (429, 503):
        names.append("Retry-After")
    if guarded and status != 401:
        names.extend(_RATE_HEADERS)
    headers = dict(response.get("headers", {}))
    for name in names:
        headers.setdefault(name, {"$ref": _HEADERS + name})
    description = response.get("description") or HTTPStatus(status).phrase
    return {**response, "description": description, "headers": headers}
