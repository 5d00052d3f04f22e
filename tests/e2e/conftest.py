"""A real browser (Debian's chromium, headless, driven by Playwright) against the real server
process on development memory adapters.

Every page is watched: an uncaught exception, a console error, a failed asset, a 5xx answer
or a network failure (outside the moments a test takes the page offline) fails the test. A
4xx answer from the API is not an error by itself: the page shows it as a message, and the
tests assert on what the person sees. Screenshots of each step land in test-artifacts/e2e/.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    Playwright,
    Request,
    Response,
    expect,
    sync_playwright,
)

from tests.support.processes import ROOT, ServerProcess, running_server

ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Chromium's own line for a 4xx/5xx answer: the API's 4xx are expected answers (the page shows
# them), judged by the response watcher below instead.
_OFFLINE = "ERR_INTERNET_DISCONNECTED"
_FAILED_RESOURCE = re.compile(r"^Failed to load resource: the server responded with a status of")


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    found = shutil.which(path) or (path if Path(path).is_file() else None)
    if found is None:
        pytest.fail(
            f"No chromium at {path}: the end-to-end tests need Debian's chromium "
            "(`make services` installs it: apt-get install chromium) or CHROMIUM_PATH "
            "pointing at a Chromium/Chrome executable."
        )
    return found


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    # a machine shared with other test runs can be slow: wait up to 10 s for what must show
    expect.set_options(timeout=10_000)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    args = [*CHROMIUM_ARGS]
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # chromium refuses to run its sandbox as root
    try:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=args, timeout=30_000
        )
    except Error as error:
        pytest.fail(f"chromium did not start: {error}")
    yield launched
    launched.close()


@pytest.fixture(scope="package")
def server() -> Iterator[ServerProcess]:
    """The real server on development memory adapters (the dev mailbox exists there), shared
    by the end-to-end tests (each signs up its own people)."""
    # Its output goes to a file: a pipe nobody reads fills after a few hundred log lines,
    # and then the server blocks on its next one (every request of the later tests hangs).
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Every browser comes from 127.0.0.1: the per-address limits (signups and code mails an
    # hour) would refuse the later tests' people, so they are relaxed as `make dev` relaxes
    # them; the per-account limits and cooldowns the tests check stay.
    env = {"APP_ENV": "development", "RELAXED_LIMITS": "1"}
    with running_server("tests.e2e.server_app", env=env, log_dir=ARTIFACTS) as process:
        yield process


@dataclass
class Watch:
    """What went wrong in a page, per the rules in this module's docstring."""

    problems: list[str] = field(default_factory=list)
    api_errors: list[tuple[int, str]] = field(default_factory=list)
    went_offline: bool = False  # set by a test that takes the page offline

    def go_offline(self, page: Page, offline: bool = True) -> None:
        if offline:
            self.went_offline = True
        page.context.set_offline(offline)

    def attach(self, page: Page) -> None:
        page.on("pageerror", self._page_error)
        page.on("console", self._console)
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    def _page_error(self, error: Error) -> None:
        self.problems.append(f"uncaught exception: {error}")

    def _console(self, message: ConsoleMessage) -> None:
        if self.went_offline and _OFFLINE in message.text:
            return
        if message.type == "error" and not _FAILED_RESOURCE.match(message.text):
            self.problems.append(f"console error: {message.text}")
        elif message.type == "warning":
            self.problems.append(f"console warning: {message.text}")

    def _request_failed(self, request: Request) -> None:
        failure = request.failure or ""
        if (self.went_offline and _OFFLINE in failure) or "ERR_ABORTED" in failure:
            # offline on purpose; or aborted: a navigation or a download
            return
        self.problems.append(f"request failed: {request.method} {request.url}: {failure}")

    def _response(self, response: Response) -> None:
        status, url = response.status, response.url
        if status >= 500:
            self.problems.append(f"{status} from {response.request.method} {url}")
        elif status >= 400:
            if "/api/v1/" in url and "/api/v1/files/blob/" not in url:
                self.api_errors.append((status, url))
            else:
                self.problems.append(f"{status} from {response.request.method} {url}")

    def check(self) -> None:
        assert not self.problems, "the browser reported problems:\n" + "\n".join(self.problems)


@dataclass
class Shots:
    """Numbered full-page screenshots under test-artifacts/e2e/<test>/."""

    folder: Path
    count: int = 0

    def __call__(self, page: Page, step: str, full_page: bool = True) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Shots(folder)


@dataclass
class Browsing:
    browser: Browser
    server: ServerProcess
    contexts: list[BrowserContext] = field(default_factory=list)
    watches: list[Watch] = field(default_factory=list)

    def page(
        self,
        viewport: tuple[int, int] = (1280, 900),
        mobile: bool = False,
        server: ServerProcess | None = None,
    ) -> tuple[Page, Watch]:
        """A page in a fresh context (its own storage: another person), on `server` (the
        shared one unless told)."""
        context = self.browser.new_context(
            base_url=(server or self.server).url,
            viewport={"width": viewport[0], "height": viewport[1]},
            is_mobile=mobile,
            has_touch=mobile,
            device_scale_factor=2 if mobile else 1,
            accept_downloads=True,
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        watch = Watch()
        watch.attach(page)
        self.watches.append(watch)
        return page, watch


@pytest.fixture
def browsing(browser: Browser, server: ServerProcess) -> Iterator[Browsing]:
    session = Browsing(browser, server)
    yield session
    for context in session.contexts:
        context.close()
    for watch in session.watches:
        watch.check()
