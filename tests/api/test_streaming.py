"""The streamed request body of the upload routes: bounded buffering (backpressure) and
discarding once the handler is done."""

from __future__ import annotations

import asyncio

import pytest

from entrypoints.http.streaming import HIGH_WATER, StreamedBody

pytestmark = pytest.mark.api

CHUNK = b"x" * (64 * 1024)


async def test_the_server_is_held_back_once_high_water_bytes_wait_unread() -> None:
    body = StreamedBody(None)
    for _ in range(HIGH_WATER // len(CHUNK)):
        await asyncio.wait_for(body.put(CHUNK), 1)

    blocked = asyncio.create_task(body.put(CHUNK))
    await asyncio.sleep(0.05)
    assert not blocked.done(), "a full body must stop taking chunks"

    assert await body.get() == CHUNK
    await asyncio.wait_for(blocked, 1)


async def test_once_released_queued_and_later_chunks_are_discarded() -> None:
    body = StreamedBody(None)
    for _ in range(HIGH_WATER // len(CHUNK)):
        await body.put(CHUNK)
    blocked = asyncio.create_task(body.put(CHUNK))
    await asyncio.sleep(0.01)

    body.release()

    await asyncio.wait_for(blocked, 1)
    await asyncio.wait_for(body.put(CHUNK), 1)
    assert body._queue.empty()


async def test_a_streamed_body_reads_in_order_to_the_end() -> None:
    body = StreamedBody(None)
    await body.put(b"a")
    await body.put(b"b")
    body.set_complete()
    assert [chunk async for chunk in body] == [b"a", b"b"]
