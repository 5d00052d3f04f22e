"""Sign in with a provider, against a real OpenID provider (node-oidc-provider, certified) run
locally (tests/oidc/provider.mjs): the whole redirect dance, with httpx as the browser on the
provider's pages (its development login and consent forms), the Quart test client as FlowHub.

Covers: sign-in and the exchange for the password login's TokenPair; the same identity again;
linking to a verified account by verified email; the pre-hijacking attempt (a squatter's
unverified registration of the address, then the owner signs in with the provider); a provider
asserting no verified address; the second factor's challenge; link and unlink with the 409;
the allow-list of redirect URIs; state and exchange codes spent once; a forged ID token."""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
import pytest_asyncio
import redis

from tests.api.auth_client import PASSWORD, AuthClient, use_fast_hasher
from tests.api.conftest import AppFactory
from tests.support.node_tools import node
from tests.support.processes import free_port
from tests.support.services import with_database

pytestmark = pytest.mark.api

OIDC = Path(__file__).resolve().parents[1] / "oidc"
FLOWHUB = "http://flowhub.test"
FRONT_END = "https://app.flowhub.example"
CLIENT_ID = "flowhub-test"
CLIENT_SECRET = "a-client-secret-for-the-local-provider-only"
NAME = "local"
CALLBACK = f"{FLOWHUB}/api/v1/auth/oauth/{NAME}/callback"


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    if not (OIDC / "node_modules" / ".installed").exists():
        pytest.fail("tests/oidc's oidc-provider is missing: run `make services`")
    port = free_port()
    process = subprocess.Popen(
        [node(), "provider.mjs", str(port), CLIENT_ID, CLIENT_SECRET, CALLBACK],
        cwd=OIDC,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("ready "), line
        yield line.split()[1]
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest_asyncio.fixture
async def api(make_app: AppFactory, issuer: str) -> AsyncIterator[AuthClient]:
    app, container = make_app(
        {
            "CORS_ORIGINS": FRONT_END,
            "OIDC_ISSUER": issuer,
            "OIDC_NAME": NAME,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OAUTH_CALLBACK_BASE_URL": FLOWHUB,
        }
    )
    use_fast_hasher(container)
    async with app.test_app() as test_app:
        yield AuthClient(test_app.test_client(), container)


def fragment(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).fragment).items()}


async def provider_login(authorization_url: str, account: str) -> str:
    """A browser at the provider: its login form (any account id), its consent form; the URL
    the provider sends the browser back to (FlowHub's callback)."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as browser:
        url = authorization_url
        for _ in range(12):
            response = await browser.get(url)
            if response.status_code in (302, 303):
                url = str(response.url.join(response.headers["location"]))
                if url.startswith(FLOWHUB):
                    return url
                continue
            assert response.status_code == 200, response.text
            action = re.search(r'action="([^"]+)"', response.text)
            prompt = re.search(r'name="prompt" value="([^"]+)"', response.text)
            assert action and prompt, response.text
            form = {"prompt": prompt.group(1)}
            if prompt.group(1) == "login":
                form |= {"login": account, "password": "anything"}
            answer = await browser.post(str(response.url.join(action.group(1))), data=form)
            assert answer.status_code in (302, 303), answer.text
            url = str(answer.url.join(answer.headers["location"]))
            if url.startswith(FLOWHUB):
                return url
        raise AssertionError("the provider never sent the browser back")


async def dance(api: AuthClient, account: str, *, authorization_url: str | None = None) -> str:
    """Start (or the given link URL), the provider's pages, the callback: FlowHub's final
    redirect to the front end."""
    if authorization_url is None:
        response = await api.client.get(
            f"/api/v1/auth/oauth/{NAME}/start", query_string={"redirect_uri": FRONT_END + "/cb"}
        )
        assert response.status_code == 302, await response.get_data()
        authorization_url = response.headers["Location"]
    query = parse_qs(urlsplit(authorization_url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"] and query["nonce"] and query["code_challenge"]
    callback = await provider_login(authorization_url, account)
    response = await api.client.get(callback.removeprefix(FLOWHUB))
    assert response.status_code == 302, await response.get_data()
    location = response.headers["Location"]
    assert location.startswith(FRONT_END + "/cb#")
    return location


async def signed_in(api: AuthClient, account: str) -> dict[str, Any]:
    found = fragment(await dance(api, account))
    assert "code" in found, found
    status, body, _ = await api.post("/auth/oauth/exchange", {"code": found["code"]})
    assert status == 200, body
    return dict(body)


async def test_providers_list_the_configured_one(api: AuthClient) -> None:
    status, body, _ = await api.get("/auth/providers")
    assert status == 200
    assert body == {"items": [{"name": NAME}]}


async def test_a_new_user_signs_in_and_again_as_the_same_account(api: AuthClient) -> None:
    pair = await signed_in(api, "verified")
    assert pair["token_type"] == "bearer"
    assert pair["user"]["email"] == "verified@oidc.test"
    assert pair["user"]["email_verified"] is True
    status, me, _ = await api.get("/users/me", pair["access_token"])
    assert status == 200 and me["id"] == pair["user"]["id"]
    again = await signed_in(api, "verified")
    assert again["user"]["id"] == pair["user"]["id"]
    status, body, _ = await api.get("/auth/identities", pair["access_token"])
    assert status == 200
    assert [(i["provider"], i["email"]) for i in body["items"]] == [(NAME, "verified@oidc.test")]


async def test_an_exchange_code_is_spent_once(api: AuthClient) -> None:
    found = fragment(await dance(api, "verified"))
    status, _, _ = await api.post("/auth/oauth/exchange", {"code": found["code"]})
    assert status == 200
    status, body, _ = await api.post("/auth/oauth/exchange", {"code": found["code"]})
    assert status == 400 and body["error"]["code"] == "invalid_provider_state"


async def test_a_state_is_spent_once(api: AuthClient) -> None:
    response = await api.client.get(
        f"/api/v1/auth/oauth/{NAME}/start", query_string={"redirect_uri": FRONT_END}
    )
    callback = await provider_login(response.headers["Location"], "verified")
    first = await api.client.get(callback.removeprefix(FLOWHUB))
    assert first.status_code == 302
    replayed = await api.client.get(callback.removeprefix(FLOWHUB))
    assert replayed.status_code == 400
    assert (await replayed.get_json())["error"]["code"] == "invalid_provider_state"


async def test_a_verified_account_is_linked_by_a_verified_email(api: AuthClient) -> None:
    existing = await api.signed_up("person@oidc.test")
    pair = await signed_in(api, "person")  # the provider asserts person@oidc.test, verified
    assert pair["user"]["id"] == existing["user"]["id"]
    status, _, _ = await api.post(
        "/auth/login", {"email": "person@oidc.test", "password": PASSWORD}
    )
    assert status == 200  # the password still signs in


async def test_pre_hijacking_a_squatters_unverified_account_is_not_handed_over(
    api: AuthClient,
) -> None:
    """The attack: a stranger signs up with the victim's address and a password of theirs,
    never verifies, and waits for the victim to sign in with the provider, hoping the provider
    identity links to the account whose password the stranger knows."""
    status, _, _ = await api.post(
        "/auth/signup",
        {"email": "squatted@oidc.test", "password": "the-squatters-password", "name": "Mallory"},
    )
    assert status == 202
    pair = await signed_in(api, "squatted")  # the victim, through the provider
    assert pair["user"]["email_verified"] is True
    # the squatter's password no longer opens the account the victim now uses
    status, body, _ = await api.post(
        "/auth/login", {"email": "squatted@oidc.test", "password": "the-squatters-password"}
    )
    assert status == 401, body
    assert body["error"]["code"] == "invalid_credentials"
    # nor was the squatter's display name kept... the account is the victim's from here on
    status, me, _ = await api.get("/users/me", pair["access_token"])
    assert status == 200 and me["email"] == "squatted@oidc.test"


async def test_an_unverified_provider_email_creates_nor_links_nothing(api: AuthClient) -> None:
    existing = await api.signed_up("unverified@oidc.test")
    found = fragment(await dance(api, "unverified"))
    assert found == {"error": "provider_email_unverified"}
    found = fragment(await dance(api, "noemail"))
    assert found == {"error": "provider_email_unverified"}
    status, body, _ = await api.get("/auth/identities", existing["access_token"])
    assert status == 200 and body["items"] == []


async def test_an_enabled_second_factor_answers_the_challenge(api: AuthClient) -> None:
    pair = await signed_in(api, "totp-user")
    token = pair["access_token"]
    status, enrolment, _ = await api.post("/auth/mfa/totp", token=token)
    assert status == 200
    totp = pyotp.TOTP(enrolment["secret"])
    status, _, _ = await api.post("/auth/mfa/totp/confirm", {"code": totp.now()}, token)
    assert status == 200
    found = fragment(await dance(api, "totp-user"))
    status, challenge, _ = await api.post("/auth/oauth/exchange", {"code": found["code"]})
    assert status == 200 and challenge["token_type"] == "mfa"

    step = totp.timecode(datetime.now(UTC)) + 1
    status, done, _ = await api.post(
        "/auth/mfa", {"challenge": challenge["challenge"], "code": totp.generate_otp(step)}
    )
    assert status == 200, done
    assert done["user"]["id"] == pair["user"]["id"]


async def test_link_then_unlink_while_another_way_remains(api: AuthClient) -> None:
    owner = await api.signed_up("linker@example.com")
    token = owner["access_token"]
    status, body, _ = await api.post(
        f"/auth/oauth/{NAME}/link", {"redirect_uri": FRONT_END + "/cb"}, token
    )
    assert status == 200, body
    found = fragment(await dance(api, "other-address", authorization_url=body["authorization_url"]))
    assert found == {"linked": NAME}
    status, listed, _ = await api.get("/auth/identities", token)
    assert [i["email"] for i in listed["items"]] == ["other-address@oidc.test"]
    # the provider identity now signs in as the linked account
    pair = await signed_in(api, "other-address")
    assert pair["user"]["id"] == owner["user"]["id"]
    # another account cannot link the same provider identity
    second = await api.signed_up("second@example.com")
    status, body, _ = await api.post(
        f"/auth/oauth/{NAME}/link", {"redirect_uri": FRONT_END + "/cb"}, second["access_token"]
    )
    found = fragment(await dance(api, "other-address", authorization_url=body["authorization_url"]))
    assert found == {"error": "identity_taken"}
    # the password remains: unlinking is allowed
    identity = listed["items"][0]["id"]
    status, _, _ = await api.send("DELETE", f"/auth/identities/{identity}", token=token)
    assert status == 204
    status, _, _ = await api.send("DELETE", f"/auth/identities/{identity}", token=token)
    assert status == 404


async def test_the_only_way_in_cannot_be_unlinked(api: AuthClient) -> None:
    pair = await signed_in(api, "only-way")  # a new account: no password
    token = pair["access_token"]
    status, listed, _ = await api.get("/auth/identities", token)
    identity = listed["items"][0]["id"]
    status, body, _ = await api.send("DELETE", f"/auth/identities/{identity}", token=token)
    assert status == 409 and body["error"]["code"] == "last_sign_in_method"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/cb",
        "https://app.flowhub.example.evil.example/cb",
        "http://app.flowhub.example/cb",  # another scheme
        "https://app.flowhub.example:8443/cb",  # another port
        "https://user@app.flowhub.example/cb",
        "javascript:alert(1)",
        "//app.flowhub.example/cb",
    ],
)
async def test_redirect_uris_outside_the_allow_list_are_refused(
    api: AuthClient, redirect_uri: str
) -> None:
    response = await api.client.get(
        f"/api/v1/auth/oauth/{NAME}/start", query_string={"redirect_uri": redirect_uri}
    )
    assert response.status_code == 400
    assert (await response.get_json())["error"]["code"] == "redirect_not_allowed"


async def test_an_unknown_provider_is_404(api: AuthClient) -> None:
    response = await api.client.get(
        "/api/v1/auth/oauth/nobody/start", query_string={"redirect_uri": FRONT_END}
    )
    assert response.status_code == 404
    assert (await response.get_json())["error"]["code"] == "unknown_provider"


async def test_a_forged_code_gets_the_front_end_an_error_not_the_providers_words(
    api: AuthClient,
) -> None:
    response = await api.client.get(
        f"/api/v1/auth/oauth/{NAME}/start", query_string={"redirect_uri": FRONT_END}
    )
    state = parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]
    answer = await api.client.get(
        f"/api/v1/auth/oauth/{NAME}/callback", query_string={"state": state, "code": "forged"}
    )
    assert answer.status_code == 302
    assert fragment(answer.headers["Location"]) == {"error": "provider_failed"}


async def test_another_users_identity_is_404(api: AuthClient) -> None:
    owner = await signed_in(api, "identity-owner")
    status, listed, _ = await api.get("/auth/identities", owner["access_token"])
    identity = listed["items"][0]["id"]
    intruder = await api.signed_up("intruder@example.com")
    status, body, _ = await api.send(
        "DELETE", f"/auth/identities/{identity}", token=intruder["access_token"]
    )
    assert status == 404 and body["error"]["code"] == "not_found"
    status, listed, _ = await api.get("/auth/identities", owner["access_token"])
    assert [i["id"] for i in listed["items"]] == [identity]


async def test_a_deleted_account_takes_its_identities_along(api: AuthClient) -> None:
    pair = await signed_in(api, "leaver")
    token = pair["access_token"]
    status, _, _ = await api.post("/users/me/deletion-code", token=token)
    assert status == 202
    code = await api.code("leaver@oidc.test")
    status, _, _ = await api.send("DELETE", "/users/me", {"code": code}, token)
    assert status == 204
    assert await api.container.adapters.identities().for_user(pair["user"]["id"]) == []
    again = await signed_in(api, "leaver")  # a new account, the identity linked to it
    assert again["user"]["id"] != pair["user"]["id"]


async def test_starts_are_limited_per_address_without_redis(api: AuthClient) -> None:
    statuses = []
    for _ in range(22):
        response = await api.client.get(
            f"/api/v1/auth/oauth/{NAME}/start", query_string={"redirect_uri": FRONT_END}
        )
        statuses.append(response.status_code)
    assert statuses[:20] == [302] * 20
    assert statuses[20:] == [429, 429]


@pytest_asyncio.fixture
async def real_api(
    make_app: AppFactory, issuer: str, redis_url: str, mongodb_uri: str
) -> AsyncIterator[AuthClient]:
    app, container = make_app(
        {
            "CORS_ORIGINS": FRONT_END,
            "OIDC_ISSUER": issuer,
            "OIDC_NAME": NAME,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OAUTH_CALLBACK_BASE_URL": FLOWHUB,
            "REDIS_URL": redis_url,
            "MONGODB_URI": with_database(mongodb_uri, f"federation{time.monotonic_ns()}"),
        }
    )
    use_fast_hasher(container)
    async with app.test_app() as test_app:
        yield AuthClient(test_app.test_client(), container)


def redis_calls(url: str) -> Counter[str]:
    client = redis.Redis.from_url(url)
    try:
        stats: dict[str, Any] = client.info("commandstats")
    finally:
        client.close()
    return Counter({k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()})


async def test_on_redis_and_mongodb_a_sign_in_costs_four_redis_commands(
    real_api: AuthClient, redis_url: str
) -> None:
    first = await signed_in(real_api, "real-services")  # connections opened, indexes made
    before = redis_calls(redis_url)
    again = await signed_in(real_api, "real-services")
    spent = redis_calls(redis_url) - before
    assert again["user"]["id"] == first["user"]["id"]
    for own in ("info", "hello"):  # the counting client's own connection and question
        spent.pop(own, None)
    assert spent == Counter({"set": 2, "getdel": 2}), spent
    status, listed, _ = await real_api.get("/auth/identities", again["access_token"])
    assert status == 200 and [i["provider"] for i in listed["items"]] == [NAME]
