from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ports.errors import ErrorContext


@dataclass(frozen=True, slots=True)
class CapturedError:
    error: BaseException
    context: ErrorContext


class MemoryErrorReporter:
    """Keeps the last `capacity` reports in memory: the development reporter and the fake.

    In development the errors are in the log anyway (stdout); this keeps them inspectable
    without a service and without growing without bound.
    """

    def __init__(self, capacity: int = 200) -> None:
        self._reports: deque[CapturedError] = deque(maxlen=capacity)

    def report(self, error: BaseException, context: ErrorContext) -> None:
        self._reports.append(CapturedError(error, context))

    async def flush(self, timeout_s: float) -> bool:
        return True

    @property
    def reports(self) -> list[CapturedError]:
        return list(self._reports)
