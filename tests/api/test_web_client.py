"""The reference web client's files, as the app serves them: `/` and `/client/...`, with a
strict Content-Security-Policy, only this origin's scripts, and no place in the OpenAPI
document (they are not part of the API)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from entrypoints.http.web import WEB_ROOT
from tests.api.conftest import AppFactory

pytestmark = pytest.mark.api


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.style_attributes = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name):
                self.urls.append(str(found[name]))
        if tag == "script" and not found.get("src"):
            self.inline_scripts += 1
        if "style" in found or any(name.startswith("on") for name in found):
            self.style_attributes += 1


def csp(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


async def test_the_page_is_served_at_the_root_with_a_strict_policy(make_app: AppFactory) -> None:
    app, _ = make_app({"APP_ENV": "development"})
    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/")
        page = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "<title>FlowHub reference client</title>" in page
    policy = csp(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["img-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-cache"


async def test_the_admin_console_is_served_at_admin_with_the_same_policy(
    make_app: AppFactory,
) -> None:
    app, _ = make_app({"APP_ENV": "development"})
    async with app.test_app() as test_app:
        client = test_app.test_client()
        response = await client.get("/admin")
        page = await response.get_data(as_text=True)
        root = await client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "<title>FlowHub admin</title>" in page
    assert response.headers["Content-Security-Policy"] == root.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("page", ["index.html", "admin.html"])
async def test_the_page_loads_nothing_from_another_origin_and_has_no_inline_code(
    page: str,
) -> None:
    refs = _References()
    refs.feed((WEB_ROOT / page).read_text())
    assert refs.urls, "no references found: the parser saw nothing"
    assert [u for u in refs.urls if re.match(r"^(https?:)?//", u)] == []
    assert refs.inline_scripts == 0
    assert refs.style_attributes == 0
    for source in (WEB_ROOT / "js").glob("*.js"):
        text = source.read_text()
        assert not re.search(r"""from\s+["']https?:""", text), source
        assert "innerHTML" not in text, source  # server data goes in as text only


@pytest.mark.parametrize("page", ["index.html", "admin.html"])
async def test_every_asset_the_page_names_is_served_as_what_it_is(
    make_app: AppFactory, page: str
) -> None:
    app, _ = make_app({"APP_ENV": "development"})
    refs = _References()
    refs.feed((WEB_ROOT / page).read_text())
    imports = {
        f"/client/js/{m}"
        for source in (WEB_ROOT / "js").glob("*.js")
        for m in re.findall(r"""from\s+["']\./([\w.]+)["']""", source.read_text())
    }
    assets = {u for u in refs.urls if u.startswith("/client/")} | imports
    assets.add("/client/vendor/flowhub-client.js")
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for url in sorted(assets):
            response = await client.get(url)
            assert response.status_code == 200, url
            assert response.mimetype == types[url[url.rindex(".") :]], url
            assert "Content-Security-Policy" in response.headers


async def test_nothing_outside_the_client_folders_is_served(make_app: AppFactory) -> None:
    app, _ = make_app({"APP_ENV": "development"})
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for url in (
            "/client/js/missing.js",
            "/client/../http/web.py",
            "/client/js/../../http/web.py",
            "/client/web/index.html",
            "/static/index.html",
            "/index.html",
        ):
            response = await client.get(url)
            assert response.status_code == 404, url
            body = await response.get_json()
            assert body["error"]["code"] == "not_found", url


async def test_the_client_routes_are_not_in_the_openapi_document(make_app: AppFactory) -> None:
    app, _ = make_app({"APP_ENV": "development"})
    async with app.test_app() as test_app:
        spec = await (await test_app.test_client().get("/openapi.json")).get_json()
    assert "/" not in spec["paths"]
    assert not [p for p in spec["paths"] if p.startswith("/client")]


async def test_with_s3_the_policy_lets_the_page_upload_to_the_bucket_and_show_its_images(
    make_app: AppFactory,
) -> None:
    aws = {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00",
        "AWS_SECRET_ACCESS_KEY": "x" * 40,
        "S3_BUCKET_NAME": "flowhub-files",
    }
    app, _ = make_app(aws)
    local, _ = make_app({**aws, "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000"})
    named, _ = make_app({**aws, "AWS_ENDPOINT_URL_S3": "https://storage.example.net"})
    policies = []
    images = []
    for each in (app, local, named):
        async with each.test_app() as test_app:
            response = await test_app.test_client().get("/")
            policies.append(csp(response.headers["Content-Security-Policy"])["connect-src"])
            images.append(csp(response.headers["Content-Security-Policy"])["img-src"])
    expected = [
        "'self' https://*.amazonaws.com",
        "'self' http://127.0.0.1:9000",
        "'self' https://storage.example.net https://*.storage.example.net",
    ]
    assert policies == expected
    # the chat's attachment previews are the bucket's presigned thumbnail URLs
    assert images == expected
