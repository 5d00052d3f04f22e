"""The admin API (README "Administration") through the HTTP app on the memory adapters:
every route for an administrator, and the unknown route's 404 for everyone else."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio

from adapters.logtail.shipper import LogtailShipper
from adapters.memory.revocations import LoneRevocationFeed
from domain.mail.model import MailOutcome, SuppressionReason
from tests.api.auth_client import PASSWORD, AuthClient, use_fast_hasher
from tests.api.conftest import AppFactory
from tests.support.capture import CaptureServer

pytestmark = pytest.mark.api

ROOT = "Root@Example.com"  # listed in ADMIN_EMAILS as typed: normalized like a signup
ADA = "ada@example.com"
SOMEONE = "x" * 22

# every admin route: (method, path); `{id}` is a user's id
ROUTES = [
    ("GET", "/admin/users"),
    ("GET", "/admin/users?q=ada&limit=5"),
    ("POST", "/admin/users/{id}/disable"),
    ("POST", "/admin/users/{id}/enable"),
    ("POST", "/admin/users/{id}/sessions/end"),
    ("DELETE", "/admin/users/{id}"),
    ("GET", "/admin/rooms"),
    ("GET", "/admin/files"),
    ("GET", "/admin/gauges"),
    ("GET", "/admin/mail"),
]


@pytest_asyncio.fixture
async def api(make_app: AppFactory) -> AsyncIterator[AuthClient]:
    app, container = make_app({"ADMIN_EMAILS": f"{ROOT}, other@example.com"})
    use_fast_hasher(container)
    async with app.test_app() as test_app:
        yield AuthClient(test_app.test_client(), container)


async def accounts(api: AuthClient) -> tuple[dict[str, Any], dict[str, Any]]:
    root = await api.signed_up(ROOT.lower(), "Root")
    ada = await api.signed_up(ADA, "Ada Lovelace")
    return root, ada


def without_request_id(body: Any) -> Any:
    return {"error": {k: v for k, v in body["error"].items() if k != "request_id"}}


async def test_every_admin_route_is_the_unknown_routes_404_to_anyone_but_an_administrator(
    api: AuthClient,
) -> None:
    _, ada = await accounts(api)
    _, unknown, _ = await api.get("/no/such/route")
    assert unknown["error"]["code"] == "not_found"
    for token in (None, ada["access_token"], "not.a.token"):
        for method, route in ROUTES:
            path = route.format(id=ada["user"]["id"])
            status, body, _ = await api.send(method, path, token=token)
            assert status == 404, (method, path, token, body)
            assert without_request_id(body) == without_request_id(unknown)
    # nor does a method the route lacks tell it exists
    status, body, headers = await api.send("PUT", "/admin/users", token=ada["access_token"])
    assert (status, without_request_id(body)) == (404, without_request_id(unknown))
    assert "Allow" not in headers
    # the administrator's search still sees Ada untouched (nothing above reached a handler)
    root = await api.post("/auth/login", {"email": ROOT, "password": PASSWORD})
    status, page, _ = await api.get("/admin/users?q=ada", root[1]["access_token"])
    assert status == 200
    assert [(u["id"], u["disabled"]) for u in page["items"]] == [(ada["user"]["id"], False)]


async def test_every_admin_route_answers_an_administrator(api: AuthClient) -> None:
    root, ada = await accounts(api)
    token = root["access_token"]
    for method, path in ROUTES:
        status, body, _ = await api.send(method, path.format(id=ada["user"]["id"]), token=token)
        assert status in (200, 204), (method, path, body)


async def test_an_unverified_account_with_an_admin_address_is_not_an_administrator(
    api: AuthClient,
) -> None:
    access = api.container.services.admin_access()
    status, _, _ = await api.post(
        "/auth/signup", {"email": "other@example.com", "password": PASSWORD, "name": "O"}
    )
    assert status == 202
    user = await api.container.adapters.users().by_email("other@example.com")
    assert user is not None and not user.email_verified
    assert not await access.is_admin(user.id)
    root, _ = await accounts(api)
    assert await access.is_admin(root["user"]["id"])


async def test_search_by_email_prefix_or_name_with_pages_and_session_counts(
    api: AuthClient,
) -> None:
    root, ada = await accounts(api)
    await api.post("/auth/login", {"email": ADA, "password": PASSWORD})  # a second session
    for n in range(3):
        await api.signed_up(f"bob{n}@example.com", f"Bob {n}")
    token = root["access_token"]
    status, page, _ = await api.get("/admin/users?q=ADA", token)  # email prefix, any case
    assert status == 200
    [found] = page["items"]
    assert found == {
        "id": ada["user"]["id"],
        "email": ADA,
        "name": "Ada Lovelace",
        "email_verified": True,
        "disabled": False,
        "created_at": ada["user"]["created_at"],
        "sessions": 2,
    }
    assert page["total"] == 5 and page["next_offset"] is None
    _, by_name, _ = await api.get("/admin/users?q=lovelace", token)
    assert [u["id"] for u in by_name["items"]] == [ada["user"]["id"]]
    _, first, _ = await api.get("/admin/users?q=bob&limit=2", token)
    assert [u["name"] for u in first["items"]] == ["Bob 2", "Bob 1"]  # newest first
    assert first["next_offset"] == 2
    _, second, _ = await api.get("/admin/users?q=bob&limit=2&offset=2", token)
    assert [u["name"] for u in second["items"]] == ["Bob 0"] and second["next_offset"] is None
    _, none, _ = await api.get("/admin/users?q=%5E.*", token)  # matched literally
    assert none["items"] == []
    status, body, _ = await api.get("/admin/users?limit=1000", token)
    assert (status, body["error"]["code"]) == (422, "validation_error")


async def test_disabling_ends_every_session_and_refuses_each_way_in_until_enabled(
    api: AuthClient,
) -> None:
    root, ada = await accounts(api)
    ada_id, token = ada["user"]["id"], root["access_token"]
    feed = api.container.adapters.revocation_feed()
    assert isinstance(feed, LoneRevocationFeed)

    status, out, _ = await api.post(f"/admin/users/{ada_id}/disable", token=token)
    assert status == 200 and out["disabled"] is True and out["sessions"] == 0
    # her access token is refused now, her sockets are told (the revocation feed), her
    # refresh token is spent
    assert (await api.get("/users/me", ada["access_token"]))[0] == 401
    assert any(ada_session(ada) in revoked for revoked in feed.published)
    status, body, _ = await api.post("/auth/refresh", {"refresh_token": ada["refresh_token"]})
    assert status == 401
    # a wrong password is what it always is; the right one (or a code) is told the truth
    status, body, _ = await api.post("/auth/login", {"email": ADA, "password": "wrong one!"})
    assert (status, body["error"]["code"]) == (401, "invalid_credentials")
    status, body, _ = await api.post("/auth/login", {"email": ADA, "password": PASSWORD})
    assert (status, body["error"]["code"]) == (403, "account_disabled")
    assert (await api.post("/auth/otp/request", {"email": ADA, "purpose": "login"}))[0] == 202
    code = await api.code(ADA, at_least=2)
    status, body, _ = await api.post(
        "/auth/otp/verify", {"email": ADA, "purpose": "login", "code": code}
    )
    assert (status, body["error"]["code"]) == (403, "account_disabled")

    status, out, _ = await api.post(f"/admin/users/{ada_id}/enable", token=token)
    assert status == 200 and out["disabled"] is False
    status, _, _ = await api.post("/auth/login", {"email": ADA, "password": PASSWORD})
    assert status == 200


def ada_session(ada: dict[str, Any]) -> str:
    import jwt

    claims = jwt.decode(ada["access_token"], options={"verify_signature": False})
    return str(claims["sid"])


async def test_ending_a_users_sessions(api: AuthClient) -> None:
    root, ada = await accounts(api)
    status, _, _ = await api.post(
        f"/admin/users/{ada['user']['id']}/sessions/end", token=root["access_token"]
    )
    assert status == 204
    assert (await api.get("/users/me", ada["access_token"]))[0] == 401
    assert (await api.post("/auth/refresh", {"refresh_token": ada["refresh_token"]}))[0] == 401
    _, page, _ = await api.get("/admin/users?q=ada", root["access_token"])
    assert page["items"][0]["sessions"] == 0
    assert (await api.post("/auth/login", {"email": ADA, "password": PASSWORD}))[0] == 200


async def test_deleting_a_user_without_their_password(api: AuthClient) -> None:
    root, ada = await accounts(api)
    token = root["access_token"]
    assert (await api.send("DELETE", f"/admin/users/{ada['user']['id']}", token=token))[0] == 204
    assert (await api.get("/users/me", ada["access_token"]))[0] == 401
    status, body, _ = await api.post("/auth/login", {"email": ADA, "password": PASSWORD})
    assert (status, body["error"]["code"]) == (401, "invalid_credentials")
    assert await api.container.adapters.users().get(ada["user"]["id"]) is None
    status, body, _ = await api.send("DELETE", f"/admin/users/{SOMEONE}", token=token)
    assert (status, body["error"]["code"]) == (404, "not_found")


async def test_an_administrator_cannot_disable_or_delete_themselves(api: AuthClient) -> None:
    root, _ = await accounts(api)
    me, token = root["user"]["id"], root["access_token"]
    for method, path in (("POST", f"/admin/users/{me}/disable"), ("DELETE", f"/admin/users/{me}")):
        status, body, _ = await api.send(method, path, token=token)
        assert (status, body["error"]["code"]) == (409, "conflict")
    assert (await api.get("/users/me", token))[0] == 200


async def test_rooms_and_files_at_a_glance(api: AuthClient) -> None:
    root, ada = await accounts(api)
    token = root["access_token"]
    _, room, _ = await api.post(
        "/chat/rooms", {"name": "Secret plans", "member_ids": []}, ada["access_token"]
    )
    for body in ("one", "two"):
        await api.post(f"/chat/rooms/{room['id']}/messages", {"body": body}, ada["access_token"])
    _, quiet, _ = await api.post("/chat/rooms", {"name": "Q", "member_ids": []}, token)
    status, rooms, _ = await api.get("/admin/rooms", token)
    assert status == 200 and rooms["count"] == 2
    assert [(r["id"], r["messages"]) for r in rooms["busiest"]] == [
        (room["id"], 2),
        (quiet["id"], 0),
    ]
    assert [r["id"] for r in rooms["recent"]] == [quiet["id"], room["id"]]
    assert "Secret plans" not in str(rooms)  # the members' words stay theirs

    for name, data in (("big.txt", b"x" * 3000), ("small.txt", b"y" * 10)):
        response = await api.client.post(
            "/api/v1/files",
            files={"file": _upload(name, data)},
            headers={"Authorization": f"Bearer {ada['access_token']}"},
        )
        assert response.status_code == 201, await response.get_json()
        await asyncio.sleep(0.005)  # the next upload is newer by more than the ms it is stamped in
    status, files, _ = await api.get("/admin/files", token)
    assert status == 200
    assert (files["count"], files["bytes"]) == (2, 3010)
    assert [f["size"] for f in files["largest"]] == [3000, 10]
    assert [f["size"] for f in files["recent"]] == [10, 3000]
    assert "big.txt" not in str(files)


def _upload(name: str, data: bytes) -> Any:
    import io

    from quart.datastructures import FileStorage

    return FileStorage(io.BytesIO(data), filename=name, content_type="text/plain")


async def test_gauges_and_their_warning_once_a_day(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app, container = make_app(
        {"ADMIN_EMAILS": ROOT, "MONGODB_STORAGE_LIMIT_BYTES": "1", "MEMORY_LIMIT_BYTES": str(2**40)}
    )
    use_fast_hasher(container)
    async with app.test_app() as test_app:
        api = AuthClient(test_app.test_client(), container)
        root, _ = await accounts(api)
        caplog.set_level(logging.INFO, logger="flowhub.events")
        for _ in range(2):
            status, body, _ = await api.get("/admin/gauges", root["access_token"])
            assert status == 200
    gauges = {g["name"]: g for g in body["items"]}
    assert set(gauges) == {
        "redis_commands_month",
        "mongodb_storage",
        "s3_storage",
        "machine_memory",
        "rollbar_reports_today",
        "log_bytes_today",
    }
    redis = gauges["redis_commands_month"]
    assert (redis["used"], redis["limit"], redis["unit"]) == (0, 500_000, "commands")
    assert redis["projected"] == 0
    mongo = gauges["mongodb_storage"]
    assert mongo["limit"] == 1 and mongo["used"] > 0 and mongo["percent"] >= 100
    memory = gauges["machine_memory"]
    assert memory["limit"] == 2**40 and 10 * 2**20 < memory["used"] < 2**40
    assert gauges["s3_storage"]["limit"] == 5 * 1024**3
    rollbar = gauges["rollbar_reports_today"]
    assert (rollbar["used"], rollbar["limit"], rollbar["unit"]) == (0, 150, "reports")
    logs = gauges["log_bytes_today"]  # no LOGTAIL_TOKEN: nothing shipped
    assert (logs["used"], logs["limit"], logs["unit"], logs["percent"]) == (
        0,
        100_000_000,
        "bytes",
        0.0,
    )
    high = [r for r in caplog.records if getattr(r, "event", "") == "gauge_high"]
    assert [(r.levelno, getattr(r, "gauge", "")) for r in high] == [
        (logging.WARNING, "mongodb_storage")
    ]


async def test_the_mail_reputation_over_fourteen_days(api: AuthClient) -> None:
    root, _ = await accounts(api)
    reputation = api.container.services.mail_reputation()
    status, before, _ = await api.get("/admin/mail", root["access_token"])
    assert status == 200
    sent = before["sent"]
    assert sent >= 2  # both signups' codes
    await reputation.counted(MailOutcome.SENT, 198 - sent)
    await reputation.counted(MailOutcome.BOUNCED, 3)
    await reputation.counted(MailOutcome.TRANSIENT, 5)
    await reputation.counted(MailOutcome.COMPLAINED)
    await reputation.suppress("gone@example.com", SuppressionReason.BOUNCE)
    status, body, _ = await api.get("/admin/mail", root["access_token"])
    assert status == 200
    assert body["sent"] == 198
    assert body["bounce_rate"] == pytest.approx(3 / 198)  # transient bounces do not count
    assert body["complaint_rate"] == pytest.approx(1 / 198)
    assert (body["bounce_rate_warning"], body["complaint_rate_warning"]) == (0.05, 0.001)
    assert body["suppressed_addresses"] == 1
    days = body["days"]
    assert len(days) == 14 and days == sorted(days, key=lambda d: d["day"])
    today = days[-1]
    assert (today["sent"], today["bounced"], today["transient"], today["complained"]) == (
        198,
        3,
        5,
        1,
    )
    assert all(d["sent"] == 0 for d in days[:-1])


async def test_every_admin_action_is_an_audit_event_without_the_targets_email(
    api: AuthClient, caplog: pytest.LogCaptureFixture
) -> None:
    root, ada = await accounts(api)
    root_id, ada_id = root["user"]["id"], ada["user"]["id"]
    caplog.set_level(logging.INFO, logger="flowhub.events")
    for method, path in ROUTES:
        await api.send(method, path.format(id=ada_id), token=root["access_token"])
    audit = [r for r in caplog.records if getattr(r, "event", "") == "admin_action"]
    assert [(getattr(r, "action", ""), getattr(r, "target_id", "")) for r in audit] == [
        ("search_users", ""),
        ("search_users", ""),
        ("disable", ada_id),
        ("enable", ada_id),
        ("end_sessions", ada_id),
        ("delete", ada_id),
        ("view_rooms", ""),
        ("view_files", ""),
        ("view_gauges", ""),
        ("view_mail", ""),
    ]
    assert all(getattr(r, "admin_id", "") == root_id for r in audit)
    acting = [r for r in audit if getattr(r, "target_id", "")]
    assert all(r.levelno == logging.WARNING for r in acting)
    assert not any(ADA in str(vars(r)) for r in audit)


async def test_the_log_gauge_reads_the_bytes_logtail_received_today(
    make_app: AppFactory,
) -> None:
    """With Logtail (the capture server), the gauge is what Logtail received, against
    LOG_BYTES_PER_DAY; the shutdown flush puts this instance's bytes in the day's counter,
    where the next instance (a restart) reads them."""
    with CaptureServer() as capture:
        app, container = make_app(
            {
                "ADMIN_EMAILS": ROOT,
                "LOGTAIL_TOKEN": "logtail-test-token",
                "LOGTAIL_HOST": capture.logtail_host,
                "LOG_BYTES_PER_DAY": "1000",
            }
        )
        use_fast_hasher(container)
        root_logger = logging.getLogger()
        level = root_logger.level
        root_logger.setLevel(logging.INFO)  # what configure_logging sets in a served process
        try:
            async with app.test_app() as test_app:
                shipper = container.adapters.log_shipper()
                assert isinstance(shipper, LogtailShipper)
                await shipper.open()  # what the warm-up does 1 s after start
                api = AuthClient(test_app.test_client(), container)
                root, _ = await accounts(api)
                assert capture.wait_for(lambda: sum(capture.batch_bytes) > 0)
                received = sum(capture.batch_bytes)
                status, body, _ = await api.get("/admin/gauges", root["access_token"])
                assert status == 200
                logs = {g["name"]: g for g in body["items"]}["log_bytes_today"]
                # read after `received` arrived, before the later uploads' bytes can exceed it
                assert received <= logs["used"] <= shipper.stats.sent_bytes
                assert (logs["limit"], logs["unit"]) == (1000, "bytes")
                assert logs["percent"] == round(100 * logs["used"] / 1000, 2) > 0
            flushed = await container.adapters.usage_days().log_bytes(
                datetime.now(UTC).strftime("%Y-%m-%d")
            )
            assert received <= flushed <= sum(capture.batch_bytes)
        finally:
            root_logger.setLevel(level)
