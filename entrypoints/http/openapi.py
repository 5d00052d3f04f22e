"""The OpenAPI document, completed with what every route can answer.

quart-schema documents what a handler declares; the error shape, however, comes from the
shared error handlers, so it is added here once for every operation: 500 everywhere; 400
(invalid JSON), 413, 415 and 422 where there is a JSON body; 422 for query parameters; 503
when a dependency is down; 401 and 429 on 🔒 routes; and
the 204 of handlers marked `@no_content`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter
from quart_schema import OpenAPIProvider
from quart_schema.typing import Model
from werkzeug.routing import Rule

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
        for operations in paths.values():
            for method, operation in operations.items():
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
                operations[method] = {**operation, "responses": responses}
        return paths, components
