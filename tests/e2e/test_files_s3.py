"""Files straight between the browser and S3 (a moto server on another origin, as a bucket is
in production): the presigned form POST crosses origins (the page's Content-Security-Policy
names the storage origin; the storage answers CORS), and the download link leaves the page
for the storage's presigned GET."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Browsing, Shots
from tests.e2e.helpers import sign_up
from tests.support.processes import ServerProcess, running_server

pytestmark = pytest.mark.e2e

BUCKET = "flowhub-e2e"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def moto(endpoint_url: str, method: str, path: str, body: bytes = b"") -> int:
    """One plain request to the moto server (it checks no signature)."""
    parts = urlsplit(endpoint_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.fixture(scope="module")
def server(aws_endpoint_url: str) -> Iterator[ServerProcess]:
    """The server with files in S3; the rest (mail included: the dev mailbox) in memory."""
    location = (
        b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<LocationConstraint>ap-south-1</LocationConstraint></CreateBucketConfiguration>"
    )
    assert moto(aws_endpoint_url, "PUT", f"/{BUCKET}", location) == 200
    env = {
        "APP_ENV": "development",
        "S3_BUCKET_NAME": BUCKET,
        "AWS_REGION": "ap-south-1",
        "AWS_ENDPOINT_URL_S3": aws_endpoint_url,
        **CREDENTIALS,
    }
    try:
        with running_server("tests.e2e.server_app", env=env) as process:
            yield process
    finally:
        moto(aws_endpoint_url, "POST", "/moto-api/reset")


def test_a_file_goes_straight_to_s3_and_comes_back_from_it(
    browsing: Browsing, shots: Shots, aws_endpoint_url: str
) -> None:
    page, _ = browsing.page()
    storage = f"{aws_endpoint_url.rstrip('/')}/"
    uploads = []
    page.on("request", lambda r: uploads.append(r.url) if r.url.startswith(storage) else None)
    sign_up(page, browsing.server, "Sophie", "sophie@example.com")

    page.get_by_label("Upload straight to storage").set_input_files(
        {"name": "paper.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Upload directly").click()
    rows = page.locator("#file-list tr")
    expect(rows.filter(has_text="paper.pdf")).to_contain_text("ready")
    assert uploads, "the bytes did not go to the storage's origin"
    shots(page, "uploaded-to-s3")

    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download paper.pdf").click()
    download = downloading.value
    assert download.url.startswith(storage)  # the presigned GET, not the API
    assert download.suggested_filename == "paper.pdf"
    with open(download.path(), "rb") as saved:
        assert saved.read() == PDF

    page.get_by_role("button", name="Delete paper.pdf").click()
    expect(rows).to_have_count(0)
