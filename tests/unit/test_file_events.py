"""FileService tells the operators' log what happened, through the EventLog port: ids, size
and type, never the file's name."""

from __future__ import annotations

import json

import pytest

from domain.files.errors import UnsupportedMediaType
from tests.unit.files_fixtures import EXE, PNG, FilesWorld, build_files_world, chunks_of

pytestmark = pytest.mark.unit

ADA = "ada-id"


@pytest.fixture
def world() -> FilesWorld:
    return build_files_world()


async def test_an_upload_and_a_deletion_are_recorded(world: FilesWorld) -> None:
    stored = await world.service.upload(ADA, "Ada's passport.png", "image/png", chunks_of(PNG))
    await world.service.delete(ADA, stored.id)

    assert world.events.names() == ["file_uploaded", "file_deleted"]
    uploaded, deleted = (
        world.events.named("file_uploaded")[0],
        world.events.named("file_deleted")[0],
    )
    assert uploaded == {
        "user_id": ADA,
        "file_id": stored.id,
        "size": len(PNG),
        "content_type": "image/png",
        "via": "api",
    }
    assert deleted == {"user_id": ADA, "file_id": stored.id}
    assert "passport" not in json.dumps([e.fields for e in world.events.events])


async def test_a_direct_upload_is_recorded_once_it_is_ready(world: FilesWorld) -> None:
    ticket = await world.service.start_upload(ADA, "a.png", len(PNG), "image/png")
    assert world.events.names() == []
    token = ticket.upload.url.rsplit("/", 1)[1]
    await world.blobs.accept_upload(token, ticket.upload.fields, chunks_of(PNG))
    await world.service.complete(ADA, ticket.file.id)

    [uploaded] = world.events.named("file_uploaded")
    assert (uploaded["file_id"], uploaded["via"]) == (ticket.file.id, "direct")


async def test_a_refused_upload_records_nothing(world: FilesWorld) -> None:
    with pytest.raises(UnsupportedMediaType):
        await world.service.upload(ADA, "a.png", "image/png", chunks_of(EXE))
    assert world.events.events == []
