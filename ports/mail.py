from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.auth.model import Email
from domain.mail.model import MailDay, MailOutcome, SuppressionReason


class Mailer(Protocol):
    async def send(self, message: Email) -> None:
        """Deliver one message; raises when the provider refuses or cannot be reached."""
        ...


class MailReputationStore(Protocol):
    """The suppression list and the daily counters (MongoDB: `mail_suppressions` and
    `mail_days`). Addresses arrive as keyed hashes (`Keyring.suppression_key`), never in clear."""

    async def suppress(self, key: str, reason: SuppressionReason, at: datetime) -> bool:
        """Put an address on the list; True when it was not there yet (idempotent)."""
        ...

    async def is_suppressed(self, key: str) -> bool: ...

    async def suppressed_count(self) -> int: ...

    async def count(self, day: str, outcome: MailOutcome, n: int = 1) -> None:
        """Add `n` to a day's counter (atomic: concurrent counts all land)."""
        ...

    async def days(self, first: str, last: str) -> list[MailDay]:
        """The stored days from `first` to `last` (`YYYY-MM-DD`, both included), oldest
        first; a day nothing was counted on is absent."""
        ...


class SnsSignatures(Protocol):
    """What needs the network and a crypto library: checking an SNS message's signature with
    the certificate at `cert_url`, and confirming a subscription. The caller has already
    checked both URLs against the allowed hosts; an implementation fetches nothing else
    (no redirects) and checks the URL again."""

    async def verify(self, cert_url: str, canonical: bytes, signature: bytes, version: str) -> bool:
        """True when `signature` (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) over
        `canonical` verifies with the certificate's key; False for any failure to fetch,
        parse or verify."""
        ...

    async def confirm(self, subscribe_url: str) -> None:
        """GET the SubscribeURL (raises when it cannot be reached or answers non-2xx)."""
        ...
