"""`make dev` and a browser: someone signs up on the reference client and uploads a file, the
server is stopped and started again (devtools/dev.py, real Redis and MongoDB on files), and the
same browser, opened again with what it stored, is still signed in and sees the file."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Browsing, Shots, Watch
from tests.e2e.helpers import open_client, sign_up
from tests.support.processes import ROOT, ServerProcess, free_port, wait_until_healthy

pytestmark = pytest.mark.e2e


@contextmanager
def make_dev(root: Path, port: int) -> Iterator[ServerProcess]:
    """`python -m devtools.dev serve` on `port`, its data and keys under `root`; SIGTERM at the
    end (it stops the server, mongoeco and Redis)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JWT_", "AWS_", "S3_", "TEST_")) and k not in {"APP_ENV", "HOST"}
    }
    env |= {"PORT": str(port), "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "devtools.dev", "serve", "--dir", str(root / ".dev")]
    argv += ["--env-file", str(root / ".env")]
    server = ServerProcess(argv, env=env, port=port, log_path=root / "dev.log", name="make dev")
    try:
        wait_until_healthy(server, timeout=60)
        yield server
    finally:
        server.stop(40)
    assert server.process.returncode == 0, server.log_tail()


def test_a_signed_in_browser_stays_signed_in_across_a_restart_of_make_dev(
    browser: Browser, tmp_path: Path, shots: Shots
) -> None:
    port = free_port()
    with make_dev(tmp_path, port) as server:
        before = Browsing(browser, server)
        page, watch = before.page()
        sign_up(page, server, "Devi", "devi@example.com")
        page.get_by_label("Upload through the API").set_input_files(
            {"name": "kept.txt", "mimeType": "text/plain", "buffer": b"kept across a restart"}
        )
        page.get_by_role("button", name="Upload", exact=True).click()
        expect(page.locator("#file-list tr")).to_contain_text("kept.txt")
        shots(page, "before-restart")
        stored = before.contexts[0].storage_state()  # what the browser keeps: localStorage
        before.contexts[0].close()  # closed while the server is down: no failed reconnects
        watch.check()

    with make_dev(tmp_path, port) as server:
        context = browser.new_context(base_url=server.url, storage_state=stored)
        try:
            page = context.new_page()
            watch = Watch()
            watch.attach(page)
            open_client(page)  # a reload, as a browser reopened on the page does
            expect(page.locator("#me-name")).to_have_text("Devi")
            expect(page.locator("#connection")).to_have_text("connected")
            expect(page.locator("#file-list tr")).to_contain_text("kept.txt")
            shots(page, "after-restart")
        finally:
            context.close()
        watch.check()
        assert not [status for status, _ in watch.api_errors if status == 401]  # no renewal
