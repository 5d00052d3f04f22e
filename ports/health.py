from __future__ import annotations

from typing import Protocol


class DependencyProbe(Protocol):
    """One dependency that `GET /health?deep=1` checks.

    `check` returns when the dependency answers and raises otherwise; the caller bounds its time.
    """

    @property
    def name(self) -> str: ...

    @property
    def adapter(self) -> str: ...

    async def check(self) -> None: ...
