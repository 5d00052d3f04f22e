"""The Mailer contract, held by the memory mailer and by SES on a local moto server.

A message is read back from where it was delivered (the memory outbox; moto's record of the
sent mail) and the code is extracted from it, as a person would. moto keeps one body per
message (the HTML one when both are sent), so the SES text body is read where it leaves the
process: the `SendEmail` parameters as botocore builds its request.

Then what only a real provider does: refuse (an unverified sender) or be unreachable. Both
reach the caller as `ServiceUnavailable`, chained from the provider's error.
"""

from __future__ import annotations

import re
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from uuid import uuid4

import pytest

from adapters.lifecycle import ManagedClient
from adapters.memory.clock import MemoryClock
from adapters.memory.mail import MemoryMailer
from adapters.s3.client import AwsConfig, aws_client
from adapters.ses.mailer import SesMailer
from domain.auth.model import Email
from domain.errors import ServiceUnavailable
from ports.mail import Mailer

if TYPE_CHECKING:
    from types_aiobotocore_ses import SESClient

    from tests.support.moto import moto_sent_messages
from tests.support.moto import moto_sent_messages
from tests.support.services import AwsCredentials

pytestmark = pytest.mark.contract

REGION = "ap-south-1"
CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


@dataclass(frozen=True)
class Delivered:
    to: str
    subject: str
    text: str
    html: str


@dataclass
class Rig:
    mailer: Mailer
    delivered_to: Callable[[str], Awaitable[list[Delivered]]]  # oldest first


def code_email(to: str, code: str, subject: str = "Your FlowHub code") -> Email:
    return Email(
        to=to,
        subject=f"{subject}: {code}",
        text=f"Hello Ada,\n\nyour code is {code}. It expires in 5 minutes.\n",
        html=f"<p>Hello Ada,</p><p>your code is <strong>{code}</strong>.</p>",
    )


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def new_address(name: str = "ada") -> str:
    return f"{name}-{uuid4().hex[:10]}@example.com"


def the_code_in(text: str) -> str:
    found = CODE.findall(text)
    assert len(found) == 1, f"expected one 6-digit code in {text!r}"
    return str(found[0])


def ses_config(endpoint_url: str, credentials: AwsCredentials, timeout_s: float = 2) -> AwsConfig:
    return AwsConfig(
        region=REGION,
        access_key_id=credentials["aws_access_key_id"],
        secret_access_key=credentials["aws_secret_access_key"],
        endpoint_url=endpoint_url,
        timeout_s=timeout_s,
    )


def ses_client(config: AwsConfig) -> ManagedClient[SESClient]:
    return aws_client("ses", config)


async def verify_sender(endpoint_url: str, credentials: AwsCredentials, sender: str) -> None:
    from aiobotocore.session import get_session

    async with get_session().create_client(
        "ses", endpoint_url=endpoint_url, **credentials
    ) as admin:
        await admin.verify_email_identity(EmailAddress=sender)


async def memory_rig() -> AsyncIterator[Rig]:
    mailer = MemoryMailer(MemoryClock())

    async def delivered_to(address: str) -> list[Delivered]:
        return [
            Delivered(m.to, m.subject, m.text, m.html)
            for m in reversed(mailer.messages_to(address))
        ]

    yield Rig(mailer, delivered_to)


async def ses_rig(endpoint_url: str, credentials: AwsCredentials) -> AsyncIterator[Rig]:
    sender = new_address("noreply")
    await verify_sender(endpoint_url, credentials, sender)
    client = ses_client(ses_config(endpoint_url, credentials))
    mailer = SesMailer(client, sender)

    text_bodies: dict[str, str] = {}  # by the message's subject; every test's is unique

    def keep_text(params: dict[str, Any], **_: Any) -> None:
        message = params["Message"]
        text_bodies[message["Subject"]["Data"]] = message["Body"]["Text"]["Data"]

    (await client.get()).meta.events.register("before-parameter-build.ses.SendEmail", keep_text)

    async def delivered_to(address: str) -> list[Delivered]:
        return [
            Delivered(address, m["subject"], text_bodies.get(m["subject"], ""), m["body"])
            for m in await moto_sent_messages(endpoint_url)
            if m["source"] == sender and address in m["destinations"].get("ToAddresses", [])
        ]

    try:
        yield Rig(mailer, delivered_to)
    finally:
        await client.aclose()


@pytest.fixture(params=["memory", "ses"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    if request.param == "memory":
        rigs = memory_rig()
    else:
        endpoint_url: str = request.getfixturevalue("aws_endpoint_url")
        credentials: AwsCredentials = request.getfixturevalue("aws_credentials")
        rigs = ses_rig(endpoint_url, credentials)
    async for built in rigs:
        yield built


# The contract ------------------------------------------------------------------------------


async def test_a_sent_code_can_be_read_back_from_the_delivered_message(rig: Rig) -> None:
    to, code = new_address(), new_code()
    email = code_email(to, code)

    await rig.mailer.send(email)

    delivered = await rig.delivered_to(to)
    assert len(delivered) == 1
    message = delivered[0]
    assert message == Delivered(to, email.subject, email.text, email.html)
    assert the_code_in(message.subject) == code
    assert the_code_in(message.text) == code
    assert the_code_in(message.html) == code


async def test_each_message_reaches_only_its_own_recipient(rig: Rig) -> None:
    ada, bob = new_address("ada"), new_address("bob")
    ada_code, bob_code = new_code(), new_code()

    await rig.mailer.send(code_email(ada, ada_code))
    await rig.mailer.send(code_email(bob, bob_code))
    await rig.mailer.send(code_email(ada, ada_code, subject="Your new FlowHub code"))

    assert [the_code_in(m.text) for m in await rig.delivered_to(ada)] == [ada_code, ada_code]
    assert [the_code_in(m.html) for m in await rig.delivered_to(bob)] == [bob_code]


async def test_unicode_in_subject_and_bodies_arrives_intact(rig: Rig) -> None:
    to, code = new_address(), new_code()
    email = Email(
        to=to,
        subject=f"Dein Code für FlowHub ✉️ {code}",
        text=f"Grüße, Zoë! Dein Code: {code} — gültig 5 Minuten. 🔑",
        html=f"<p>Grüße, Zoë!</p><p>Dein Code: <b>{code}</b> — gültig 5 Minuten. 🔑</p>",
    )

    await rig.mailer.send(email)

    assert await rig.delivered_to(to) == [Delivered(to, email.subject, email.text, email.html)]


# SES only: a provider that refuses or cannot be reached --------------------------------------


def closed_port_url() -> str:
    """A loopback URL on which nothing listens (the port was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def assert_unavailable(error: ServiceUnavailable) -> None:
    assert error.code == "service_unavailable"
    assert error.message == str(error) == "mail could not be sent"
    assert error.__cause__ is not None  # the provider's error, for the caller's log


async def test_ses_refusing_an_unverified_sender_is_service_unavailable(
    aws_endpoint_url: str, aws_credentials: AwsCredentials
) -> None:
    from botocore.exceptions import ClientError

    client = ses_client(ses_config(aws_endpoint_url, aws_credentials))
    mailer = SesMailer(client, new_address("never-verified"))
    to = new_address()
    try:
        with pytest.raises(ServiceUnavailable) as caught:
            await mailer.send(code_email(to, new_code()))
    finally:
        await client.aclose()

    assert_unavailable(caught.value)
    assert isinstance(caught.value.__cause__, ClientError)
    assert caught.value.__cause__.response["Error"]["Code"] == "MessageRejected"
    assert not [m for m in await moto_sent_messages(aws_endpoint_url) if to in str(m)]


async def test_an_unreachable_ses_endpoint_is_service_unavailable(
    aws_credentials: AwsCredentials,
) -> None:
    from botocore.exceptions import EndpointConnectionError

    client = ses_client(ses_config(closed_port_url(), aws_credentials, timeout_s=0.5))
    mailer = SesMailer(client, "noreply@flowhub.example")
    try:
        with pytest.raises(ServiceUnavailable) as caught:
            await mailer.send(code_email(new_address(), new_code()))
    finally:
        await client.aclose()

    assert_unavailable(caught.value)
    assert isinstance(caught.value.__cause__, EndpointConnectionError)


class TimingOutSes:
    """Stands in for an SES client whose request times out (a real one would take the
    client's full read timeout, 5 s or more, to show it)."""

    async def send_email(self, **_: Any) -> None:
        from botocore.exceptions import ReadTimeoutError

        raise ReadTimeoutError(endpoint_url="https://email.ap-south-1.amazonaws.com/")


async def test_a_ses_timeout_is_service_unavailable() -> None:
    from botocore.exceptions import ReadTimeoutError

    async def open_client() -> SESClient:
        return cast("SESClient", TimingOutSes())

    async def close_client(_: SESClient) -> None:
        return None

    mailer = SesMailer(ManagedClient("ses", open_client, close_client), "noreply@flowhub.example")

    with pytest.raises(ServiceUnavailable) as caught:
        await mailer.send(code_email(new_address(), new_code()))

    assert_unavailable(caught.value)
    assert isinstance(caught.value.__cause__, ReadTimeoutError)
