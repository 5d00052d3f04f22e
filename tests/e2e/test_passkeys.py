"""A passkey in Chromium with the DevTools virtual authenticator (CTAP2, internal transport,
resident keys, user verification): registered from the reference page, then used to sign in
without an email. The page is served at http://localhost:<port>, an origin under the RP ID
`localhost` (WEBAUTHN_ORIGINS' default), since browsers refuse an IP address as RP ID."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Browsing, Watch
from tests.e2e.helpers import open_client, sign_up

pytestmark = pytest.mark.e2e


def test_register_a_passkey_and_sign_in_with_it(browsing: Browsing) -> None:
    context = browsing.browser.new_context(base_url=f"http://localhost:{browsing.server.port}")
    context.set_default_timeout(10_000)
    browsing.contexts.append(context)
    page = context.new_page()
    watch = Watch()
    watch.attach(page)
    browsing.watches.append(watch)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    email = f"passkey-{time.time_ns()}@example.com"
    sign_up(page, browsing.server, "Grace", email)
    passkeys = page.locator("#passkeys")
    expect(passkeys).to_be_visible()
    page.get_by_label("Passkey name").fill("Virtual key")
    page.get_by_role("button", name="Add a passkey").click()
    expect(passkeys.locator(".passkey-name")).to_have_text(["Virtual key"])
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": added["authenticatorId"]})
    assert len(stored["credentials"]) == 1 and stored["credentials"][0]["isResidentCredential"]

    page.locator("#logout").click()
    expect(page.locator("#auth")).to_be_visible()
    open_client(page)
    page.get_by_role("tab", name="Log in", exact=True).click()
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.locator("#me-name")).to_have_text("Grace")
    expect(page.locator("#me-email")).to_have_text(email)
