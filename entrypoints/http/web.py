"""The reference web client (entrypoints/web/): static files at `/`, `/admin` and `/client/...`.

Served in every shape, with a strict Content-Security-Policy: scripts, styles and connections
from this origin only (plus the object storage's origin when S3 serves: direct uploads connect
to it, and the chat's attachment previews are its presigned thumbnail URLs),
no inline code, no framing. Nothing is fetched from a CDN: socket.io-client and Swagger UI
(the API docs at `/docs`) are vendored (entrypoints/web/vendor/). These routes are hidden
from the OpenAPI document: they are not part of the API.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from quart import Blueprint, Response, send_from_directory
from quart_schema import hide

from config.settings import Settings
from domain.errors import NotFound

WEB_ROOT = Path(__file__).resolve().parents[1] / "web"
ASSET_PREFIX = "/client"

_ASSET_DIRS = ("js", "css", "img", "vendor")


def content_security_policy(settings: Settings, images: str = "'self'") -> str:
    storage: list[str] = []
    if settings.uses_s3:
        # direct uploads POST to the bucket (presigned form), and attachment previews are its
        # presigned thumbnail URLs; downloads are navigations
        if settings.aws_endpoint_url_s3:
            parts = urlsplit(settings.aws_endpoint_url_s3)
            storage.append(f"{parts.scheme}://{parts.netloc}")
            if parts.hostname and _named(parts.hostname):
                # virtual-hosted style: the bucket is a subdomain of the endpoint
                storage.append(f"{parts.scheme}://*.{parts.netloc}")
        else:
            storage.append("https://*.amazonaws.com")
    connect = ["'self'", *storage]
    directives = {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": " ".join([images, *storage]),
        "connect-src": " ".join(connect),
        "form-action": "'self'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _named(host: str) -> bool:
    """A DNS name that can have subdomains (not an IP address, not localhost)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host != "localhost"
    return False


def create_blueprint(settings: Settings) -> Blueprint:
    blueprint = Blueprint("web", __name__)
    policy = content_security_policy(settings)
    # Swagger UI's stylesheet draws its icons as data: URIs
    docs_policy = content_security_policy(settings, images="'self' data:")

    def secured(response: Response, csp: str = policy) -> Response:
        response.headers["Content-Security-Policy"] = csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        # revalidated on every load (ETag): a deploy never leaves a stale script behind
        response.headers["Cache-Control"] = "no-cache"
        return response

    @blueprint.get("/")
    @hide
    async def index() -> Response:
        """The reference client's page."""
        return secured(await send_from_directory(WEB_ROOT, "index.html", cache_timeout=0))

    @blueprint.get("/admin")
    @hide
    async def admin() -> Response:
        """The admin console (README "Administration"): the same page for everyone; only an
        administrator's token gets answers from the admin API it calls."""
        return secured(await send_from_directory(WEB_ROOT, "admin.html", cache_timeout=0))

    @blueprint.get("/docs")
    @hide
    async def docs() -> Response:
        """Swagger UI on /openapi.json, vendored: it works without internet."""
        page = await send_from_directory(WEB_ROOT, "docs.html", cache_timeout=0)
        return secured(page, docs_policy)

    @blueprint.get(f"{ASSET_PREFIX}/<folder>/<path:name>")
    @hide
    async def asset(folder: str, name: str) -> Response:
        """The page's scripts, styles, icon and the bundled @flowhub/client."""
        if folder not in _ASSET_DIRS:
            raise NotFound()
        # ES modules must be served as JavaScript, whatever the system's mime types say
        mimetype = "text/javascript" if name.endswith(".js") else None
        response = await send_from_directory(
            WEB_ROOT / folder, name, mimetype=mimetype, cache_timeout=0
        )
        return secured(response)

    return blueprint
