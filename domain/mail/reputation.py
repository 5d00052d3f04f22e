"""The suppression list and the daily counters, as the code mailer and the operator use them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from domain.auth.model import normalize_email
from domain.auth.secrets import Keyring
from domain.mail.model import MailDay, MailOutcome, MailRates, SuppressionReason
from ports.clock import Clock
from ports.mail import MailReputationStore

DEFAULT_DAYS = 14  # SES judges a sender's rates over a recent window of its sends


@dataclass(kw_only=True, slots=True)
class MailReputation:
    store: MailReputationStore
    keys: Keyring
    clock: Clock

    def _key(self, email: str) -> str:
        return self.keys.suppression_key(normalize_email(email))

    def _today(self) -> str:
        return self.clock.now().date().isoformat()

    async def is_suppressed(self, email: str) -> bool:
        return await self.store.is_suppressed(self._key(email))

    async def suppress(self, email: str, reason: SuppressionReason) -> bool:
        """True when the address was not suppressed yet."""
        return await self.store.suppress(self._key(email), reason, self.clock.now())

    async def counted(self, outcome: MailOutcome, n: int = 1) -> None:
        """One more (or `n` more) of today's `outcome`: one MongoDB update, no Redis."""
        if n > 0:
            await self.store.count(self._today(), outcome, n)

    async def rates(self, days: int = DEFAULT_DAYS) -> MailRates:
        """The last `days` UTC days (today included), each day present even when nothing
        happened on it, and the bounce and complaint rates over all of them."""
        days = max(1, min(days, 366))
        today = self.clock.now().date()
        first = today - timedelta(days=days - 1)
        stored = {d.day: d for d in await self.store.days(first.isoformat(), today.isoformat())}
        every = tuple(
            stored.get(day, MailDay(day))
            for day in ((first + timedelta(days=i)).isoformat() for i in range(days))
        )
        sent = sum(d.sent for d in every)
        bounced = sum(d.bounced for d in every)
        complained = sum(d.complained for d in every)
        return MailRates(
            days=every,
            sent=sent,
            bounce_rate=bounced / sent if sent else 0.0,
            complaint_rate=complained / sent if sent else 0.0,
            suppressed_addresses=await self.store.suppressed_count(),
        )
