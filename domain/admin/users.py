"""An administrator's side of the accounts: search, disable and enable, end sessions, delete.

Every action is an audit event (`admin_action`, WARNING: an operator reads each one) naming
the administrator, the action and the target by id, never by email or name."""

from __future__ import annotations

from dataclasses import dataclass

from domain.admin.model import AdminUserPage, AdminUserView
from domain.auth.deletion import AccountDeletion
from domain.auth.model import User
from domain.auth.sessions import Sessions
from domain.errors import Conflict, NotFound
from ports.clock import Clock
from ports.events import EventLog
from ports.sessions import SessionRepository
from ports.users import UserRepository


class SelfAction(Conflict):
    """An administrator disabling or deleting their own account (they would lock themselves
    out of the console they are using): done by another administrator or `DELETE /users/me`."""

    code = "conflict"
    default_message = "An administrator cannot disable or delete their own account here."


@dataclass(kw_only=True, slots=True)
class AdminUsers:
    users: UserRepository
    session_store: SessionRepository
    sessions: Sessions
    deletion: AccountDeletion
    clock: Clock
    events: EventLog

    async def search(self, admin_id: str, text: str, offset: int, limit: int) -> AdminUserPage:
        """One users read (one more than asked: is there a next page), one sessions count
        and one users count. Audited at INFO, without the search text (it may be an email)."""
        self.events.record("admin_action", admin_id=admin_id, action="search_users", target_id="")
        found = await self.users.search(text.strip(), offset, limit + 1)
        page = found[:limit]
        counts = await self.session_store.count_by_user([u.id for u in page])
        total = await self.users.count()
        items = tuple(AdminUserView(u, counts.get(u.id, 0)) for u in page)
        return AdminUserPage(items, total, len(found) > limit)

    async def set_disabled(self, admin_id: str, user_id: str, disabled: bool) -> AdminUserView:
        """Disabling ends every session (access tokens refused and sockets closed on every
        instance, through the revocations logout-all uses); the account's logins answer
        403 `account_disabled` after a correct password or code until it is enabled."""
        user = await self._target(admin_id, user_id, refuse_self=disabled)
        user = user.with_disabled(disabled, self.clock.now())
        await self.users.save(user)
        if disabled:
            await self.sessions.logout_all(user.id)
        self._audit(admin_id, "disable" if disabled else "enable", user.id)
        counts = await self.session_store.count_by_user([user.id])
        return AdminUserView(user, counts.get(user.id, 0))

    async def end_sessions(self, admin_id: str, user_id: str) -> None:
        user = await self._target(admin_id, user_id, refuse_self=False)
        await self.sessions.logout_all(user.id)
        self._audit(admin_id, "end_sessions", user.id)

    async def delete(self, admin_id: str, user_id: str) -> None:
        """What `DELETE /users/me` does, without the owner's password check."""
        user = await self._target(admin_id, user_id, refuse_self=True)
        self._audit(admin_id, "delete", user.id)  # before: a deletion cut short stays traced
        await self.deletion.erase(user)

    async def _target(self, admin_id: str, user_id: str, *, refuse_self: bool) -> User:
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound("No such user.")
        if refuse_self and user.id == admin_id:
            raise SelfAction()
        return user

    def _audit(self, admin_id: str, action: str, target_id: str) -> None:
        self.events.warn("admin_action", admin_id=admin_id, action=action, target_id=target_id)
