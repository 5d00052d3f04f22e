"""Rooms and files at a glance, for an administrator."""

from __future__ import annotations

from dataclasses import dataclass

from domain.chat.model import RoomsOverview
from domain.files.model import FilesOverview
from domain.mail.model import MailRates
from domain.mail.reputation import MailReputation
from ports.chat import RoomRepository
from ports.events import EventLog
from ports.files import FileRepository

OVERVIEW_LIMIT = 10  # the largest and the newest of each
MAIL_DAYS = 14  # SES judges a sender over its recent sends


@dataclass(kw_only=True, slots=True)
class AdminOverview:
    rooms: RoomRepository
    files: FileRepository
    mail: MailReputation
    events: EventLog

    async def of_rooms(self, admin_id: str) -> RoomsOverview:
        self.events.record("admin_action", admin_id=admin_id, action="view_rooms", target_id="")
        return await self.rooms.overview(OVERVIEW_LIMIT)

    async def of_files(self, admin_id: str) -> FilesOverview:
        self.events.record("admin_action", admin_id=admin_id, action="view_files", target_id="")
        return await self.files.overview(OVERVIEW_LIMIT)

    async def of_mail(self, admin_id: str) -> MailRates:
        """The last 14 UTC days' sends, bounces and complaints, and their rates."""
        self.events.record("admin_action", admin_id=admin_id, action="view_mail", target_id="")
        return await self.mail.rates(MAIL_DAYS)
