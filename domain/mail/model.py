"""Mail reputation: what SES says about the mail FlowHub sends, and what follows from it.

SES suspends a sender whose bounce rate passes ~10 % or whose complaint rate passes ~0.5 %.
A permanent bounce or a complaint puts the address on the suppression list (no code is ever
mailed to it again); a transient bounce is only counted. Counters are kept per UTC day.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MailOutcome(StrEnum):
    """What a day's counter counts."""

    SENT = "sent"
    BOUNCED = "bounced"  # permanent bounces (the address is suppressed)
    TRANSIENT = "transient"  # transient or undetermined bounces (counted only)
    COMPLAINED = "complained"
    SUPPRESSED = "suppressed"  # mails not sent because their address is suppressed


class SuppressionReason(StrEnum):
    BOUNCE = "bounce"
    COMPLAINT = "complaint"


@dataclass(frozen=True, slots=True)
class MailDay:
    """One UTC day's counters (`day` is `YYYY-MM-DD`)."""

    day: str
    sent: int = 0
    bounced: int = 0
    transient: int = 0
    complained: int = 0
    suppressed: int = 0

    def count(self, outcome: MailOutcome) -> int:
        return int(getattr(self, outcome.value))


@dataclass(frozen=True, slots=True)
class MailRates:
    """The operator's view (the admin console's gauges): days oldest first, and the rates
    over all of them, as SES computes them (bounces and complaints over mails sent)."""

    days: tuple[MailDay, ...]
    sent: int
    bounce_rate: float  # permanent bounces / sent (0 when nothing was sent)
    complaint_rate: float  # complaints / sent
    suppressed_addresses: int


# SES's own thresholds: review at 5 % bounces / 0.1 % complaints, suspension at 10 % / 0.5 %.
BOUNCE_RATE_WARNING = 0.05
COMPLAINT_RATE_WARNING = 0.001
