"""An attachment's preview when S3 holds the files (a moto server on another origin, as a
bucket is in production): the thumbnail is the bucket's presigned URL, which the page's
Content-Security-Policy lets it show (a refused image is a console error: the test fails)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Browsing, Shots
from tests.e2e.helpers import create_room, send, sign_up
from tests.e2e.test_chat_messages import png
from tests.e2e.test_files_s3 import server  # noqa: F401  (the S3-backed server, for this module)

pytestmark = pytest.mark.e2e


def test_an_image_attachment_previews_from_the_bucket(
    browsing: Browsing, shots: Shots, aws_endpoint_url: str
) -> None:
    page, _ = browsing.page()
    sign_up(page, browsing.server, "Iris", "iris-s3@example.com")
    page.get_by_label("Upload straight to storage").set_input_files(
        {"name": "sky.png", "mimeType": "image/png", "buffer": png(500, 300)}
    )
    page.get_by_role("button", name="Upload directly").click()
    expect(page.locator("#file-list tr", has_text="sky.png")).to_contain_text("ready")

    create_room(page, "Gallery")
    page.locator("#attach-toggle").click()
    page.locator("#attach-panel").get_by_label("sky.png").check()
    send(page, "look")
    thumb = page.locator("#message-list li.message[data-seq='1'] img.thumb")
    storage = re.escape(aws_endpoint_url.rstrip("/"))
    expect(thumb).to_have_attribute("src", re.compile(f"^{storage}/"))  # straight from S3
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle()
    )
    width = thumb.evaluate("img => img.naturalWidth")
    assert 0 < width <= 256, width
    shots(page, "preview-from-s3")
