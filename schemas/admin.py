"""Wire shapes of the admin API (README "Administration")."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, Field

from domain.admin.model import PAGE_MAX, SEARCH_MAX, AdminUserPage, AdminUserView, Gauge
from domain.chat.model import Room, RoomsOverview
from domain.files.model import FilesOverview, StoredFile
from domain.mail.model import (
    BOUNCE_RATE_WARNING,
    COMPLAINT_RATE_WARNING,
    MailDay,
    MailRates,
)
from schemas.common import Moment


class AdminUsersQuery(BaseModel):
    q: Annotated[
        str,
        Field(
            max_length=SEARCH_MAX,
            description="an email's beginning or a part of a name (any case); empty: everyone",
        ),
    ] = ""
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    limit: Annotated[int, Field(ge=1, le=PAGE_MAX)] = 50


class AdminUserOut(BaseModel):
    id: str
    email: str
    name: str
    email_verified: bool
    disabled: bool
    created_at: Moment
    sessions: int = Field(description="signed-in sessions (refresh-token families) not expired")

    @classmethod
    def from_domain(cls, view: AdminUserView) -> Self:
        user = view.user
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            email_verified=user.email_verified,
            disabled=user.disabled,
            created_at=user.created_at,
            sessions=view.sessions,
        )


class AdminUsersOut(BaseModel):
    items: list[AdminUserOut]
    total: int = Field(description="every account, whatever the search")
    next_offset: int | None = Field(description="the next page's `offset`; null on the last")

    @classmethod
    def from_domain(cls, page: AdminUserPage, offset: int) -> Self:
        return cls(
            items=[AdminUserOut.from_domain(v) for v in page.items],
            total=page.total,
            next_offset=offset + len(page.items) if page.has_more else None,
        )


class AdminFileOut(BaseModel):
    id: str
    owner_id: str
    size: int
    content_type: str
    created_at: Moment

    @classmethod
    def from_domain(cls, file: StoredFile) -> Self:
        # no file name: it is the owner's words
        return cls(
            id=file.id,
            owner_id=file.owner_id,
            size=file.size,
            content_type=file.content_type,
            created_at=file.created_at,
        )


class AdminFilesOut(BaseModel):
    count: int = Field(description="ready files")
    bytes: int = Field(description="their sizes plus their thumbnails'")
    largest: list[AdminFileOut]
    recent: list[AdminFileOut]

    @classmethod
    def from_domain(cls, overview: FilesOverview) -> Self:
        return cls(
            count=overview.count,
            bytes=overview.bytes,
            largest=[AdminFileOut.from_domain(f) for f in overview.largest],
            recent=[AdminFileOut.from_domain(f) for f in overview.recent],
        )


class AdminRoomOut(BaseModel):
    id: str
    members: int
    messages: int = Field(description="the room's message counter (`last_seq`)")
    created_at: Moment

    @classmethod
    def from_domain(cls, room: Room) -> Self:
        # no room name: it is the members' words
        return cls(
            id=room.id,
            members=len(room.member_ids),
            messages=room.last_seq,
            created_at=room.created_at,
        )


class AdminRoomsOut(BaseModel):
    count: int
    busiest: list[AdminRoomOut] = Field(description="the rooms with the most messages")
    recent: list[AdminRoomOut]

    @classmethod
    def from_domain(cls, overview: RoomsOverview) -> Self:
        return cls(
            count=overview.count,
            busiest=[AdminRoomOut.from_domain(r) for r in overview.busiest],
            recent=[AdminRoomOut.from_domain(r) for r in overview.recent],
        )


class GaugeOut(BaseModel):
    name: str = Field(
        description="redis_commands_month, mongodb_storage, s3_storage, machine_memory, "
        "rollbar_reports_today or log_bytes_today"
    )
    used: int
    limit: int = Field(description="0 when unknown (no container limit, no setting)")
    unit: str = Field(description="bytes, commands or reports")
    percent: float
    projected: int | None = Field(
        default=None, description="redis_commands_month: at the month's end at this pace"
    )
    projected_percent: float | None = None

    @classmethod
    def from_domain(cls, gauge: Gauge) -> Self:
        return cls(
            name=gauge.name,
            used=gauge.used,
            limit=gauge.limit,
            unit=gauge.unit,
            percent=gauge.percent,
            projected=gauge.projected,
            projected_percent=gauge.projected_percent,
        )


class GaugesOut(BaseModel):
    items: list[GaugeOut]


class MailDayOut(BaseModel):
    day: str = Field(description="a UTC day, YYYY-MM-DD")
    sent: int
    bounced: int = Field(description="permanent bounces (the address is suppressed)")
    transient: int = Field(description="transient or undetermined bounces (counted only)")
    complained: int
    suppressed: int = Field(description="codes not mailed: their address is suppressed")

    @classmethod
    def from_domain(cls, day: MailDay) -> Self:
        return cls(
            day=day.day,
            sent=day.sent,
            bounced=day.bounced,
            transient=day.transient,
            complained=day.complained,
            suppressed=day.suppressed,
        )


class AdminMailOut(BaseModel):
    sent: int = Field(description="mails sent over the days")
    bounce_rate: float = Field(description="permanent bounces / sent (0 when nothing was sent)")
    complaint_rate: float = Field(description="complaints / sent")
    bounce_rate_warning: float = Field(description="SES reviews a sender from this rate")
    complaint_rate_warning: float = Field(description="SES reviews a sender from this rate")
    suppressed_addresses: int = Field(description="addresses no code is mailed to any more")
    days: list[MailDayOut] = Field(description="the last 14 UTC days, oldest first")

    @classmethod
    def from_domain(cls, rates: MailRates) -> Self:
        return cls(
            sent=rates.sent,
            bounce_rate=rates.bounce_rate,
            complaint_rate=rates.complaint_rate,
            bounce_rate_warning=BOUNCE_RATE_WARNING,
            complaint_rate_warning=COMPLAINT_RATE_WARNING,
            suppressed_addresses=rates.suppressed_addresses,
            days=[MailDayOut.from_domain(d) for d in rates.days],
        )
