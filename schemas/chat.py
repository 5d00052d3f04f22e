"""Chat's request and response shapes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, RootModel, StrictBool

from schemas.common import NOT_BLANK, In

Id = Annotated[str, Field(min_length=1, max_length=200)]


class RoomIn(In):
    name: Annotated[str, Field(min_length=1, max_length=100, json_schema_extra=NOT_BLANK)]
    member_ids: Annotated[list[Id], Field(max_length=100)] = Field(default_factory=list)
    simulated: StrictBool = False


class MemberIn(In):
    user_id: Id


class MessageIn(In):
    body: Annotated[str, Field(min_length=1, max_length=4000, json_schema_extra=NOT_BLANK)]
    client_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None


SEQ_MAX = 2**63 - 1  # a seq is stored as a 64-bit integer; a larger one cannot be looked up


class MessagesQuery(BaseModel):
    before: Annotated[int, Field(ge=1, le=SEQ_MAX)] | None = None
    after: Annotated[int, Field(ge=0, le=SEQ_MAX)] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] | None = None


class PresenceQuery(BaseModel):
    user_ids: Annotated[str, Field(max_length=5000, description="comma-separated user ids")] = ""


class RoomOut(BaseModel):
    id: str
    name: str
    member_ids: list[str]
    simulated: bool
    created_at: str = Field(description="ISO 8601 UTC")
    last_seq: int


class RoomsOut(BaseModel):
    items: list[RoomOut]


class MessageOut(BaseModel):
    id: str
    room_id: str
    sender_id: str
    body: str
    seq: int = Field(description="per room: 1, 2, 3... with no gap")
    client_id: str | None = None
    created_at: str = Field(description="ISO 8601 UTC")


class MessagePageOut(BaseModel):
    items: list[MessageOut] = Field(description="ascending by seq")
    next_before: int | None = Field(description="pass as `before` for older messages")


class PresenceOut(RootModel[dict[str, Literal["online", "offline"]]]):
    pass
