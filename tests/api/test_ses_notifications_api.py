"""POST /api/v1/ses/notifications through the HTTP app, with SNS messages signed by a local key
pair whose self-signed certificate a local HTTP server serves (SES_SNS_CERT_HOSTS points at it,
SES_SNS_ALLOW_HTTP lets it be plain http: tests only). Every refusal is a 403 in the contract's
error shape that records nothing, and no URL off the allowed host is ever fetched (SSRF)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from adapters.memory.mail import MemoryMailer
from config.container import Container
from domain.mail.model import MailDay
from domain.mail.reputation import MailReputation
from tests.api.auth_client import AuthClient, use_fast_hasher
from tests.api.conftest import AppFactory

pytestmark = pytest.mark.api

TOPIC = "arn:aws:sns:eu-west-1:123456789012:flowhub-ses"
PATH = "/api/v1/ses/notifications"
BOUNCED = "gone@example.com"


@dataclass
class CertServer:
    """Serves the certificate at /cert.pem and answers any other GET with 200; records every
    request's host and path."""

    port: int
    requests: list[str] = field(default_factory=list)

    @property
    def cert_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/SimpleNotificationService-test.pem"

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def _key_and_cert() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


KEY, CERT_PEM = _key_and_cert()


@pytest.fixture
def cert_server() -> Iterator[CertServer]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(f"{self.headers.get('Host')}{self.path}")
            body = CERT_PEM if self.path.endswith(".pem") else b"<ConfirmSubscriptionResponse/>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield CertServer(server.server_address[1], seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def canonical(message: dict[str, str]) -> bytes:
    """AWS's documented canonical string, written here independently of the server's."""
    if message["Type"] == "Notification":
        names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{n}\n{message[n]}\n" for n in names if n in message).encode()


def signed(message: dict[str, str], version: str = "2") -> dict[str, str]:
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303
    signature = KEY.sign(canonical(message), padding.PKCS1v15(), digest)
    return {
        **message,
        "SignatureVersion": version,
        "Signature": base64.b64encode(signature).decode(),
    }


def now_iso(delta_s: float = 0) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=delta_s)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


_ids = iter(range(1_000_000))


def notification(server: CertServer, event: dict[str, Any], **over: str) -> dict[str, str]:
    message = {
        "Type": "Notification",
        "MessageId": f"msg-{next(_ids)}",
        "TopicArn": TOPIC,
        "Message": json.dumps(event),
        "Timestamp": now_iso(),
        "SigningCertURL": server.cert_url,
        "UnsubscribeURL": server.url("/unsubscribe"),
    }
    return {**message, **over}


def bounce(*addresses: str, kind: str = "Permanent") -> dict[str, Any]:
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": kind,
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": a} for a in addresses],
        },
        "mail": {"destination": list(addresses)},
    }


def complaint(*addresses: str) -> dict[str, Any]:
    return {
        "notificationType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": a} for a in addresses]},
    }


@dataclass
class Sns:
    api: AuthClient
    container: Container
    server: CertServer

    async def deliver(self, message: dict[str, str], kind: str | None = None) -> tuple[int, Any]:
        response = await self.api.client.post(
            PATH,
            data=json.dumps(message),
            headers={
                "x-amz-sns-message-type": kind or message["Type"],
                "Content-Type": "text/plain; charset=UTF-8",  # what SNS sends
            },
        )
        return response.status_code, await response.get_json()

    @property
    def reputation(self) -> MailReputation:
        reputation: MailReputation = self.container.services.mail_reputation()
        return reputation

    async def suppressed(self, email: str) -> bool:
        return await self.reputation.is_suppressed(email)

    async def today(self) -> MailDay:
        return (await self.reputation.rates(1)).days[-1]


def env(server: CertServer, **extra: str) -> dict[str, str]:
    return {
        "SES_SNS_TOPIC_ARN": TOPIC,
        "SES_SNS_CERT_HOSTS": rf"127\.0\.0\.1:{server.port}",
        "SES_SNS_ALLOW_HTTP": "1",
        **extra,
    }


@pytest_asyncio.fixture
async def sns(make_app: AppFactory, cert_server: CertServer) -> AsyncIterator[Sns]:
    app, container = make_app(env(cert_server))
    use_fast_hasher(container)
    async with app.test_app() as test_app:
        yield Sns(AuthClient(test_app.test_client(), container), container, cert_server)


def refused(status: int, body: Any) -> None:
    assert status == 403, body
    assert set(body) == {"error"}
    assert body["error"]["code"] == "invalid_notification"


async def assert_nothing_recorded(sns: Sns) -> None:
    rates = await sns.container.services.mail_reputation().rates(2)
    assert rates.suppressed_addresses == 0
    assert all(d == type(d)(d.day) for d in rates.days)


# accepted ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
async def test_a_signed_permanent_bounce_suppresses_its_address(sns: Sns, version: str) -> None:
    message = signed(notification(sns.server, bounce("Gone@Example.com")), version)
    status, body = await sns.deliver(message)
    assert status == 204, body
    assert await sns.suppressed(BOUNCED)  # normalized
    assert not await sns.suppressed("other@example.com")
    assert (await sns.today()).bounced == 1
    assert sns.server.requests == [
        f"127.0.0.1:{sns.server.port}/SimpleNotificationService-test.pem"
    ]


async def test_a_complaint_suppresses_and_a_transient_bounce_is_only_counted(sns: Sns) -> None:
    status, _ = await sns.deliver(signed(notification(sns.server, complaint("angry@example.com"))))
    assert status == 204
    transient = bounce("full@example.com", kind="Transient")
    status, _ = await sns.deliver(signed(notification(sns.server, transient, Subject="x")))
    assert status == 204
    assert await sns.suppressed("angry@example.com")
    assert not await sns.suppressed("full@example.com")
    today = await sns.today()
    assert (today.complained, today.transient, today.bounced) == (1, 1, 0)
    rates = await sns.container.services.mail_reputation().rates()
    assert rates.suppressed_addresses == 1


async def test_the_certificate_is_fetched_once_and_a_redelivery_counts_once(sns: Sns) -> None:
    first = signed(notification(sns.server, bounce("a@example.com")))
    for message in (first, first, signed(notification(sns.server, bounce("b@example.com")))):
        status, _ = await sns.deliver(message)
        assert status == 204
    assert (await sns.today()).bounced == 2
    assert len(sns.server.requests) == 1


async def test_a_subscription_is_confirmed_on_the_allowed_host(sns: Sns) -> None:
    message = signed(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "sub-1",
            "Token": "tok",
            "TopicArn": TOPIC,
            "Message": "You have chosen to subscribe...",
            "SubscribeURL": sns.server.url("/?Action=ConfirmSubscription&Token=tok"),
            "Timestamp": now_iso(),
            "SigningCertURL": sns.server.cert_url,
        }
    )
    status, body = await sns.deliver(message)
    assert status == 204, body
    assert (
        f"127.0.0.1:{sns.server.port}/?Action=ConfirmSubscription&Token=tok" in sns.server.requests
    )


# refused, nothing recorded ----------------------------------------------------------------


async def test_a_tampered_message_is_refused(sns: Sns) -> None:
    message = signed(notification(sns.server, bounce("someone@example.com")))
    message["Message"] = json.dumps(bounce(BOUNCED))
    refused(*await sns.deliver(message))
    await assert_nothing_recorded(sns)


async def test_a_signature_by_another_key_is_refused(sns: Sns) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    message = notification(sns.server, bounce(BOUNCED))
    raw = other.sign(canonical(message), padding.PKCS1v15(), hashes.SHA256())
    message |= {"SignatureVersion": "2", "Signature": base64.b64encode(raw).decode()}
    refused(*await sns.deliver(message))
    for garbage in ("", "not base64!", base64.b64encode(b"x" * 256).decode()):
        refused(*await sns.deliver({**message, "Signature": garbage}))
    await assert_nothing_recorded(sns)


async def test_another_topic_is_refused_before_any_fetch(sns: Sns) -> None:
    other = "arn:aws:sns:eu-west-1:123456789012:someone-else"
    refused(*await sns.deliver(signed(notification(sns.server, bounce(BOUNCED), TopicArn=other))))
    await assert_nothing_recorded(sns)
    assert sns.server.requests == []


async def test_an_unsupported_signature_version_is_refused(sns: Sns) -> None:
    message = signed(notification(sns.server, bounce(BOUNCED)))
    for version in ("3", "", "02"):
        refused(*await sns.deliver({**message, "SignatureVersion": version}))
    await assert_nothing_recorded(sns)
    assert sns.server.requests == []


@pytest.mark.parametrize("age_s", [3601, 7 * 86400, -3600])
async def test_an_old_or_future_message_is_refused(sns: Sns, age_s: int) -> None:
    message = signed(notification(sns.server, bounce(BOUNCED), Timestamp=now_iso(-age_s)))
    refused(*await sns.deliver(message))
    await assert_nothing_recorded(sns)


async def test_a_type_that_differs_from_the_header_is_refused(sns: Sns) -> None:
    message = signed(notification(sns.server, bounce(BOUNCED)))
    refused(*await sns.deliver(message, kind="SubscriptionConfirmation"))
    refused(*await sns.deliver(message, kind="Other"))
    for body in ("not json", "[]", "{}"):
        response = await sns.api.client.post(
            PATH, data=body, headers={"x-amz-sns-message-type": "Notification"}
        )
        refused(response.status_code, await response.get_json())
    await assert_nothing_recorded(sns)


# SSRF: no URL off the allowed host is fetched ---------------------------------------------


@pytest.mark.parametrize(
    "cert_url",
    [
        "http://localhost:{port}/SimpleNotificationService-test.pem",  # same server, other host
        "http://127.0.0.1:{port}@localhost:{port}/x.pem",
        "http://localhost:{port}\\@127.0.0.1:{port}/x.pem",
        "http://127.0.0.1:{port}.evil.example/x.pem",
        "http://127.0.0.1:{port}/not-a-certificate",
        "ftp://127.0.0.1:{port}/x.pem",
        "file:///etc/passwd.pem",
    ],
)
async def test_a_certificate_url_off_the_allowed_host_is_never_fetched(
    sns: Sns, cert_url: str
) -> None:
    url = cert_url.format(port=sns.server.port)
    refused(
        *await sns.deliver(signed(notification(sns.server, bounce(BOUNCED), SigningCertURL=url)))
    )
    assert sns.server.requests == []
    await assert_nothing_recorded(sns)


async def test_a_subscribe_url_off_the_allowed_host_is_never_fetched(sns: Sns) -> None:
    message = signed(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "sub-2",
            "Token": "tok",
            "TopicArn": TOPIC,
            "Message": "You have chosen to subscribe...",
            "SubscribeURL": sns.server.url("/?Action=ConfirmSubscription", host="localhost"),
            "Timestamp": now_iso(),
            "SigningCertURL": sns.server.cert_url,
        }
    )
    refused(*await sns.deliver(message))
    assert all("Action=" not in r for r in sns.server.requests)  # only the certificate


async def test_production_accepts_only_https_on_aws_hosts(
    make_app: AppFactory, cert_server: CertServer
) -> None:
    """Without SES_SNS_ALLOW_HTTP and SES_SNS_CERT_HOSTS, the local server is never asked."""
    app, _ = make_app({"SES_SNS_TOPIC_ARN": TOPIC})
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for url in (cert_server.cert_url, cert_server.cert_url.replace("http:", "https:")):
            message = signed(notification(cert_server, bounce(BOUNCED), SigningCertURL=url))
            response = await client.post(
                PATH, data=json.dumps(message), headers={"x-amz-sns-message-type": "Notification"}
            )
            refused(response.status_code, await response.get_json())
    assert cert_server.requests == []


async def test_without_a_topic_the_endpoint_answers_404(
    make_app: AppFactory, cert_server: CertServer
) -> None:
    app, _ = make_app({})
    async with app.test_app() as test_app:
        message = signed(notification(cert_server, bounce(BOUNCED)))
        response = await test_app.test_client().post(
            PATH, data=json.dumps(message), headers={"x-amz-sns-message-type": "Notification"}
        )
        assert response.status_code == 404
        assert (await response.get_json())["error"]["code"] == "not_found"
    assert cert_server.requests == []


# no code to a suppressed address, and nothing tells ------------------------------------


async def test_no_code_is_mailed_to_a_suppressed_address_and_the_answer_is_the_same(
    sns: Sns,
) -> None:
    api = sns.api
    await api.signed_up(BOUNCED)
    await api.signed_up("fine@example.com", name="Fine")
    status, _ = await sns.deliver(signed(notification(sns.server, bounce(BOUNCED))))
    assert status == 204
    mailer = sns.container.adapters.mailer()
    assert isinstance(mailer, MemoryMailer)
    before = len(mailer.messages_to(BOUNCED))

    answers = []
    for email in (BOUNCED, "fine@example.com", "nobody@example.com"):
        status, body, _ = await api.post("/auth/otp/request", {"email": email, "purpose": "login"})
        answers.append((status, body))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0] == (202, {"status": "sent_if_exists"})

    await api.mailbox("fine@example.com", at_least=2)  # the other address's code went out
    await sns.container.adapters.tasks().drain(5)  # the suppressed address's task is done too
    assert len(mailer.messages_to(BOUNCED)) == before
    today = await sns.today()
    assert today.suppressed >= 1
    assert today.sent >= 3  # two signups' codes and the other address's login code


async def test_an_unreachable_subscribe_url_is_503_so_sns_retries(
    make_app: AppFactory, cert_server: CertServer
) -> None:
    from tests.support.processes import free_port

    closed = free_port()
    app, _ = make_app(
        env(cert_server, SES_SNS_CERT_HOSTS=rf"127\.0\.0\.1:({cert_server.port}|{closed})")
    )
    message = signed(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "sub-3",
            "Token": "tok",
            "TopicArn": TOPIC,
            "Message": "You have chosen to subscribe...",
            "SubscribeURL": f"http://127.0.0.1:{closed}/?Action=ConfirmSubscription",
            "Timestamp": now_iso(),
            "SigningCertURL": cert_server.cert_url,
        }
    )
    async with app.test_app() as test_app:
        response = await test_app.test_client().post(
            PATH,
            data=json.dumps(message),
            headers={"x-amz-sns-message-type": "SubscriptionConfirmation"},
        )
        assert response.status_code == 503
        assert (await response.get_json())["error"]["code"] == "service_unavailable"


async def test_codes_still_go_out_when_the_suppression_list_is_unreachable(
    make_app: AppFactory,
) -> None:
    """MongoDB away (a closed port): the check fails open and the counts are dropped, so a
    user is never locked out by the reputation bookkeeping."""
    from dependency_injector import providers

    from adapters.mongo.client import mongo_client
    from adapters.mongo.reputation import MongoMailReputation
    from tests.support.processes import free_port

    managed = mongo_client(f"mongodb://127.0.0.1:{free_port()}/?directConnection=true", 0.2)
    app, container = make_app({})
    use_fast_hasher(container)
    container.adapters.mail_reputation.override(
        providers.Object(MongoMailReputation(managed, "flowhub"))
    )
    try:
        async with app.test_app() as test_app:
            api = AuthClient(test_app.test_client(), container)
            await api.signed_up("ada@example.com")  # its verification code arrived
    finally:
        await managed.aclose()


async def test_a_message_without_a_message_id_is_refused(sns: Sns) -> None:
    message = notification(sns.server, bounce(BOUNCED))
    del message["MessageId"]
    refused(*await sns.deliver(signed(message)))
    await assert_nothing_recorded(sns)
