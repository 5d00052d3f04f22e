"""The Files panel's resumable upload (issue 18), in Chromium against the development server
(memory storage: the part URLs are the app's own `PUT /api/v1/files/blob/<token>`): a file of
three parts (the part size is fixed at 8 MiB, so 17 MiB: 8 + 8 + 1) goes up with a moving
progress bar, is paused, survives a reload, is resumed with the same file picked again (only
the missing parts are sent), completes and downloads as the exact bytes; and Cancel aborts an
upload under way."""

from __future__ import annotations

import pytest
from playwright.sync_api import FilePayload, Page, Route, expect

from tests.e2e.conftest import Browsing, Shots
from tests.e2e.helpers import sign_up
from tests.e2e.test_journey import expect_notice

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
PARTS = "**/api/v1/files/blob/*"


def big_text(size: int) -> bytes:
    line = b"FlowHub resumable upload, a line of plain text to fill the parts.\n"
    return (line * (size // len(line) + 1))[:size]


DATA = big_text(17 * MIB)
BIG: FilePayload = {"name": "big.txt", "mimeType": "text/plain", "buffer": DATA}


class Parts:
    """The part PUTs the page sends (to `pattern`: the app's part URLs, or a bucket's), held
    (not answered) while `hold` is set; a held one goes on to its real destination."""

    def __init__(self, page: Page, pattern: str = PARTS) -> None:
        self.page = page
        self.sent = 0
        self.held: list[Route] = []
        self.hold = True
        page.route(pattern, self._route)

    def _route(self, route: Route) -> None:
        if route.request.method != "PUT":
            route.continue_()
            return
        self.sent += 1
        if self.hold:
            self.held.append(route)
        else:
            route.continue_()

    def release_one_of(self, size: int) -> None:
        """Answer a held part of `size` bytes (the parts reach the route in no fixed order)."""
        for route in self.held:
            if len(route.request.post_data_buffer or b"") == size:
                self.held.remove(route)
                route.continue_()
                return
        raise AssertionError(f"no held part of {size} bytes")

    def wait_held(self, count: int) -> None:
        for _ in range(200):
            if len(self.held) >= count:
                return
            self.page.wait_for_timeout(50)
        raise AssertionError(f"{len(self.held)} part PUTs held, expected {count}")


def saved_uploads(page: Page) -> list[str]:
    found = page.evaluate(
        "() => Object.keys(localStorage).filter(k => k.startsWith('flowhub.upload.'))"
    )
    return [str(key) for key in found]


def test_a_big_upload_pauses_survives_a_reload_resumes_and_downloads_exactly(
    browsing: Browsing, shots: Shots
) -> None:
    page, _ = browsing.page()
    sign_up(page, browsing.server, "Ria Resume", "ria@example.com")
    form = page.locator("#upload-resumable-form")
    bar = page.get_by_label("Upload progress of big.txt")
    percent = page.locator("#resumable-percent")
    status = page.locator("#resumable-status")

    parts = Parts(page)
    form.get_by_label("Resumable upload").set_input_files(BIG)
    form.get_by_role("button", name="Start upload", exact=True).click()
    parts.wait_held(3)  # three parts in flight at once
    expect(percent).to_have_text("0%")
    expect(bar).to_have_js_property("value", 0)
    expect(page.locator("#file-list tr", has_text="big.txt")).to_contain_text("pending")
    shots(page, "uploading")

    parts.release_one_of(8 * MIB)  # a part of 8 MiB arrives: the bar moves
    expect(percent).to_have_text("47%")
    expect(bar).to_have_js_property("value", 8 * MIB)
    expect(status).to_contain_text("Uploading big.txt: 8.0 MB of 17.0 MB")

    # Pause from the keyboard: the parts in flight are aborted
    form.get_by_role("button", name="Pause", exact=True).focus()
    page.keyboard.press("Enter")
    expect(form.get_by_role("button", name="Resume", exact=True)).to_be_visible()
    expect(form.get_by_role("button", name="Resume", exact=True)).to_be_focused()
    expect(status).to_have_text("Paused at 8.0 MB of 17.0 MB. Resume to go on.")
    assert len(saved_uploads(page)) == 1
    shots(page, "paused")

    page.unroute_all(behavior="ignoreErrors")
    page.reload()
    expect(page.locator("#me-name")).to_have_text("Ria Resume")
    expect(status).to_have_text(
        "An unfinished upload of big.txt (17.0 MB), 8.0 MB sent. Choose the same file, then Resume."
    )
    expect(percent).to_have_text("47%")
    expect(form.get_by_role("button", name="Start upload", exact=True)).to_be_hidden()
    shots(page, "after-reload")

    # Resume needs the file again, and the same one
    form.get_by_role("button", name="Resume", exact=True).click()
    expect_notice(page, "error", "Choose the file again to resume: big.txt")
    form.get_by_label("Resumable upload").set_input_files(
        {"name": "big.txt", "mimeType": "text/plain", "buffer": DATA[: 9 * MIB]}
    )
    form.get_by_role("button", name="Resume", exact=True).click()
    expect_notice(page, "error", "That is not the file of this upload: choose big.txt")

    parts = Parts(page)
    parts.hold = False
    asked: list[str] = []
    page.on(
        "request",
        lambda r: (
            asked.append(r.url) if r.method == "GET" and r.url.endswith("/multipart") else None
        ),
    )
    form.get_by_label("Resumable upload").set_input_files(BIG)
    form.get_by_role("button", name="Resume", exact=True).click()
    expect_notice(page, "success", "Uploaded big.txt (17.0 MB) in parts.")
    row = page.locator("#file-list tr", has_text="big.txt")
    expect(row).to_contain_text("ready")
    expect(row).to_contain_text("17.0 MB")
    assert len(asked) == 1  # GET /files/{id}/multipart: which parts arrived
    assert parts.sent == 2  # only the two missing parts went up again
    expect(page.locator("#resumable-progress")).to_be_hidden()
    expect(form.get_by_role("button", name="Start upload", exact=True)).to_be_visible()
    assert saved_uploads(page) == []
    shots(page, "completed")

    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download big.txt").click()
    with open(downloading.value.path(), "rb") as saved:
        assert saved.read() == DATA


def test_cancel_aborts_an_upload_under_way_on_a_phone(browsing: Browsing, shots: Shots) -> None:
    page, watch = browsing.page(viewport=(390, 844), mobile=True)
    sign_up(page, browsing.server, "Cal Cancel", "cal@example.com")
    form = page.locator("#upload-resumable-form")
    parts = Parts(page)
    form.get_by_label("Resumable upload").set_input_files(BIG)
    form.get_by_role("button", name="Start upload", exact=True).click()
    parts.wait_held(3)
    expect(page.locator("#file-list tr", has_text="big.txt")).to_contain_text("pending")
    expect(page.get_by_label("Upload progress of big.txt")).to_be_visible()
    shots(page, "phone-uploading", full_page=False)
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths  # nothing scrolls sideways

    deleted: list[int] = []
    page.on(
        "response",
        lambda r: (
            deleted.append(r.status)
            if r.request.method == "DELETE" and r.url.endswith("/multipart")
            else None
        ),
    )
    form.get_by_role("button", name="Cancel", exact=True).click()
    expect_notice(page, "info", "Cancelled the upload of big.txt.")
    assert deleted == [204]
    expect(page.locator("#file-list tr")).to_have_count(0)
    expect(page.locator("#files-empty")).to_be_visible()
    expect(page.locator("#resumable-progress")).to_be_hidden()
    expect(form.get_by_role("button", name="Start upload", exact=True)).to_be_visible()
    assert saved_uploads(page) == []

    page.unroute_all(behavior="ignoreErrors")
    page.reload()
    expect(page.locator("#me-name")).to_have_text("Cal Cancel")
    expect(form.get_by_role("button", name="Start upload", exact=True)).to_be_visible()
    expect(form.get_by_role("button", name="Resume", exact=True)).to_be_hidden()
    expect(page.locator("#resumable-status")).to_have_text("")
    assert watch.api_errors == []
