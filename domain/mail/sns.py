"""SES's bounce and complaint notifications, as Amazon SNS delivers them over HTTP(S).

Every message is checked as AWS documents it ("Verifying the signatures of Amazon SNS
messages") before anything is recorded or fetched: its `Type` (the `x-amz-sns-message-type`
header's), its `TopicArn` (the configured one), its `SignatureVersion` (1: SHA1withRSA, 2:
SHA256withRSA), its `SigningCertURL` (https on an allowed host, so no message makes the
server fetch a URL of its choosing), its `Timestamp` (at most `max_age_s` old), and finally
its signature over the canonical string of its documented fields. A SubscriptionConfirmation
is confirmed by GETting its `SubscribeURL`, on the same host rule.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from domain.errors import NotFound
from domain.mail.errors import InvalidNotification
from domain.mail.model import MailOutcome, SuppressionReason
from domain.mail.reputation import MailReputation
from ports.clock import Clock
from ports.events import EventLog
from ports.mail import SnsSignatures

NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"
MESSAGE_TYPES = (NOTIFICATION, SUBSCRIPTION_CONFIRMATION, UNSUBSCRIBE_CONFIRMATION)
SIGNATURE_VERSIONS = ("1", "2")

# The fields of the string SNS signs, in this order (AWS's documented lists); `Subject` only
# when the notification has one.
NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)

# AWS's signing-certificate hosts: sns.<region>.amazonaws.com (no port, no user part)
AWS_SNS_HOSTS = r"sns\.[a-z0-9-]+\.amazonaws\.com"
DEFAULT_MAX_AGE_S = 3600
MAX_CLOCK_SKEW_S = 300  # a Timestamp this far in the future is still accepted
SEEN_IDS_KEPT = 10_000  # MessageIds remembered, so a redelivery is not counted twice
MAX_RECIPIENTS = 50  # SES's own limit of recipients per message

# what a URL may contain here: no backslash, space or other byte parsers disagree about
_URL_CHARS = re.compile(r"[A-Za-z0-9._~:/?#\[\]!$&'()*+,;=%-]+")


@dataclass(frozen=True, slots=True)
class SnsPolicy:
    topic_arn: str | None  # None: the endpoint answers 404
    host_pattern: str = AWS_SNS_HOSTS  # matched against the whole `host[:port]`
    allow_http: bool = False  # tests only (settings refuse it in production)
    max_age_s: int = DEFAULT_MAX_AGE_S

    def allowed_url(self, url: str, *, suffix: str = "") -> bool:
        """An https URL (http too when allowed) on an allowed host, with no user part, and
        whose path ends in `suffix`."""
        if not _URL_CHARS.fullmatch(url) or "@" in url:
            return False
        parts = urlsplit(url)
        schemes = ("https", "http") if self.allow_http else ("https",)
        if parts.scheme not in schemes or not parts.netloc:
            return False
        if not re.fullmatch(self.host_pattern, parts.netloc.lower()):
            return False
        return parts.path.endswith(suffix)


def canonical_string(message: Mapping[str, str]) -> bytes:
    """`name\\nvalue\\n` for each signed field present, in AWS's order."""
    names = NOTIFICATION_FIELDS if message.get("Type") == NOTIFICATION else CONFIRMATION_FIELDS
    return "".join(f"{n}\n{message[n]}\n" for n in names if n in message).encode()


def _parse_time(raw: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _fields(body: bytes | str) -> dict[str, str]:
    try:
        loaded: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidNotification("The body is not an SNS message.") from None
    if not isinstance(loaded, dict):
        raise InvalidNotification("The body is not an SNS message.")
    return {str(k): v for k, v in loaded.items() if isinstance(v, str)}


@dataclass(kw_only=True, slots=True)
class SesNotifications:
    policy: SnsPolicy
    signatures: SnsSignatures
    reputation: MailReputation
    clock: Clock
    events: EventLog
    _seen: OrderedDict[str, None] = field(default_factory=OrderedDict)

    async def receive(self, message_type: str, body: bytes | str) -> None:
        """Check one SNS message and act on it; raises `InvalidNotification` (nothing
        recorded, nothing fetched) or `NotFound` (no topic configured)."""
        if not self.policy.topic_arn:
            raise NotFound()
        message = await self._authentic(message_type, body)
        message_id = message.get("MessageId", "")
        if message_id in self._seen:  # SNS delivers at least once: a redelivery is a no-op
            return
        if message["Type"] == SUBSCRIPTION_CONFIRMATION:
            url = message.get("SubscribeURL", "")
            if not self.policy.allowed_url(url):
                raise InvalidNotification("The SubscribeURL is not on an allowed host.")
            await self.signatures.confirm(url)
            self.events.record("ses_sns_subscribed")
        elif message["Type"] == UNSUBSCRIBE_CONFIRMATION:
            self.events.warn("ses_sns_unsubscribed")
        else:
            await self._notification(message.get("Message", ""))
        self._remember(message_id)

    async def _authentic(self, message_type: str, body: bytes | str) -> dict[str, str]:
        policy = self.policy
        message = _fields(body)
        kind = message.get("Type")
        if kind not in MESSAGE_TYPES or kind != message_type or not message.get("MessageId"):
            raise InvalidNotification("The message type is not one this endpoint accepts.")
        if message.get("TopicArn") != policy.topic_arn:
            raise InvalidNotification("The message is not from the configured topic.")
        version = message.get("SignatureVersion", "")
        if version not in SIGNATURE_VERSIONS:
            raise InvalidNotification("The signature version is not supported.")
        cert_url = message.get("SigningCertURL", "")
        if not policy.allowed_url(cert_url, suffix=".pem"):
            raise InvalidNotification("The signing certificate is not on an allowed host.")
        sent = _parse_time(message.get("Timestamp", ""))
        age = (self.clock.now() - sent).total_seconds() if sent else None
        if age is None or age > policy.max_age_s or age < -MAX_CLOCK_SKEW_S:
            raise InvalidNotification("The message is too old or not timestamped.")
        try:
            signature = base64.b64decode(message.get("Signature", ""), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidNotification("The signature is not valid.") from None
        if not signature or not await self.signatures.verify(
            cert_url, canonical_string(message), signature, version
        ):
            raise InvalidNotification("The signature is not valid.")
        return message

    async def _notification(self, raw: str) -> None:
        """An SES event (a notification of the identity, `notificationType`, or of a
        configuration set, `eventType`): bounces and complaints; anything else is ignored."""
        try:
            event: Any = json.loads(raw)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            self.events.record("ses_sns_ignored")
            return
        kind = event.get("notificationType") or event.get("eventType")
        if kind == "Bounce":
            bounce = _object(event.get("bounce"))
            addresses = _addresses(bounce.get("bouncedRecipients"))
            if bounce.get("bounceType") == "Permanent":
                await self._suppress(addresses, SuppressionReason.BOUNCE, MailOutcome.BOUNCED)
            else:
                await self.reputation.counted(MailOutcome.TRANSIENT, len(addresses))
                self.events.record("ses_bounce_transient", recipients=len(addresses))
        elif kind == "Complaint":
            complaint = _object(event.get("complaint"))
            addresses = _addresses(complaint.get("complainedRecipients"))
            await self._suppress(addresses, SuppressionReason.COMPLAINT, MailOutcome.COMPLAINED)
        else:
            self.events.record("ses_sns_ignored")

    async def _suppress(
        self, addresses: list[str], reason: SuppressionReason, outcome: MailOutcome
    ) -> None:
        added = 0
        for address in addresses:
            added += await self.reputation.suppress(address, reason)
        await self.reputation.counted(outcome, len(addresses))
        self.events.warn(f"ses_{reason.value}", recipients=len(addresses), suppressed=added)

    def _remember(self, message_id: str) -> None:
        self._seen[message_id] = None
        while len(self._seen) > SEEN_IDS_KEPT:
            self._seen.popitem(last=False)


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _addresses(recipients: object) -> list[str]:
    if not isinstance(recipients, list):
        return []
    found = [
        r["emailAddress"]
        for r in recipients[:MAX_RECIPIENTS]
        if isinstance(r, dict) and isinstance(r.get("emailAddress"), str)
    ]
    return [_bare(a) for a in found if _bare(a)]


def _bare(address: str) -> str:
    """`Name <a@b>` as `a@b` (SES reports the address as it was sent)."""
    if "<" in address and address.endswith(">"):
        address = address.rsplit("<", 1)[1][:-1]
    return address.strip()
