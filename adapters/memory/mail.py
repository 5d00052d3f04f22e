from __future__ import annotations

from domain.auth.model import Email, SentEmail
from ports.clock import Clock


class MemoryMailer:
    """Keeps what it sends; in development the outbox is readable at /api/v1/dev/mailbox."""

    def __init__(self, clock: Clock, keep: int = 500) -> None:
        self._clock = clock
        self._keep = keep
        self._outbox: list[SentEmail] = []

    async def send(self, message: Email) -> None:
        sent = SentEmail(message.to, message.subject, message.text, message.html, self._clock.now())
        self._outbox.append(sent)
        del self._outbox[: -self._keep]

    def messages_to(self, address: str) -> list[SentEmail]:
        """Newest first."""
        return [m for m in reversed(self._outbox) if m.to == address]
