"""Who administers: verified accounts whose (normalized) email is listed in ADMIN_EMAILS."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.auth.model import normalize_email
from ports.users import UserRepository


@dataclass(slots=True)
class AdminAccess:
    users: UserRepository
    emails: Iterable[str]
    _emails: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self._emails = frozenset(normalize_email(e) for e in self.emails if e.strip())

    async def is_admin(self, user_id: str) -> bool:
        """One user read per admin request; never true with no ADMIN_EMAILS (no read then)."""
        if not self._emails:
            return False
        user = await self.users.get(user_id)
        return (
            user is not None
            and user.email_verified
            and not user.disabled
            and user.email in self._emails
        )
