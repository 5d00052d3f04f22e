from __future__ import annotations

from typing import Protocol

from domain.auth.model import Email


class Mailer(Protocol):
    async def send(self, message: Email) -> None:
        """Deliver one message; raises when the provider refuses or cannot be reached."""
        ...
