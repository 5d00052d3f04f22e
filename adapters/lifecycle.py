"""Clients of external services, opened once and closed at stop.

Opening a client means importing its driver, which costs hundreds of milliseconds for motor or
aiobotocore. A `ManagedClient` therefore opens on first use or when the server warms up after
it has started serving, never at import time and never on the `GET /health` path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class ManagedClient[T]:
    def __init__(
        self,
        name: str,
        opener: Callable[[], Awaitable[T]],
        closer: Callable[[T], Awaitable[None]],
    ) -> None:
        self.name = name
        self._opener = opener
        self._closer = closer
        self._client: T | None = None
        self._opening: asyncio.Task[T] | None = None

    @property
    def is_open(self) -> bool:
        return self._client is not None

    async def get(self) -> T:
        """The client, opened once. A caller that gives up waiting (a timeout) does not cancel
        the open: the next caller finds it done."""
        if self._client is not None:
            return self._client
        if self._opening is None or _failed(self._opening):
            self._opening = asyncio.create_task(self._open(), name=f"open-{self.name}-client")
        return await asyncio.shield(self._opening)

    async def _open(self) -> T:
        self._client = await self._opener()
        return self._client

    async def aclose(self) -> None:
        opening, self._opening = self._opening, None
        if opening is not None and not opening.done():
            opening.cancel()
            await asyncio.gather(opening, return_exceptions=True)
        client, self._client = self._client, None
        if client is not None:
            await self._closer(client)


def _failed(task: asyncio.Task[object]) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)
