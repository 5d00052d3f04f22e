"""The quota guard in front of an error reporter (Rollbar's free tier: 5,000 events a month,
after which it refuses them silently).

- The same fingerprint goes out at most once per `window_s` (10 minutes); the occurrences in
  between are counted and the count rides on the next report of that fingerprint.
- At most `daily_budget` reports per UTC day (150 by default: 31 x 150 = 4,650 < 5,000). Past
  it nothing goes out until the next day; every error still reaches stdout, where its call site
  logged it.

The guard is per process: a restart starts a fresh count (see README, Observability).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import traceback
from dataclasses import dataclass, replace
from datetime import date

from ports.clock import Clock
from ports.errors import ErrorContext, ErrorReporter

log = logging.getLogger("flowhub.telemetry")

DEDUP_WINDOW_S = 600.0
DAILY_BUDGET = 150
_FRAMES = 8  # innermost frames that make an error "the same"


def fingerprint(error: BaseException, source: str) -> str:
    """The exception's type, where it came from and its innermost frames (file, function,
    line), not its message: messages carry ids, which would make every occurrence unique."""
    digest = hashlib.sha256(
        f"{source}|{type(error).__module__}.{type(error).__qualname__}".encode()
    )
    frames = list(traceback.walk_tb(error.__traceback__))[-_FRAMES:]
    for frame, line in frames:
        code = frame.f_code
        digest.update(f"|{code.co_filename}:{code.co_qualname}:{line}".encode())
    return digest.hexdigest()[:32]


@dataclass(slots=True)
class _Seen:
    last_sent: float | None  # monotonic time of the last report, None if never sent
    pending: int = 0  # occurrences since then that did not go out


@dataclass(slots=True)
class ThrottleStats:
    reported: int = 0
    duplicates: int = 0  # within the window of an earlier report of the same fingerprint
    over_budget: int = 0  # the day's budget was spent
    failed: int = 0  # the guard itself failed (never raised to the caller)


class ThrottledErrorReporter:
    def __init__(
        self,
        inner: ErrorReporter,
        clock: Clock,
        *,
        window_s: float = DEDUP_WINDOW_S,
        daily_budget: int = DAILY_BUDGET,
        max_fingerprints: int = 1000,
    ) -> None:
        self._inner = inner
        self._clock = clock
        self._window_s = window_s
        self._budget = daily_budget
        self._max_fingerprints = max_fingerprints
        self._seen: dict[str, _Seen] = {}
        self._day: date | None = None
        self._spent = 0
        self._lock = threading.Lock()
        self.stats = ThrottleStats()

    @property
    def inner(self) -> ErrorReporter:
        return self._inner

    def report(self, error: BaseException, context: ErrorContext) -> None:
        try:
            key = fingerprint(error, context.source)
            occurrences = self._admit(key)
            if occurrences:
                self._inner.report(
                    error, replace(context, fingerprint=key, occurrences=occurrences)
                )
        except Exception:
            self.stats.failed += 1
            log.warning("could not report an error", exc_info=True)

    def _admit(self, key: str) -> int:
        """How many occurrences a report now stands for; 0 when none may go out."""
        now, day = self._clock.monotonic(), self._clock.now().date()
        with self._lock:
            seen = self._seen.get(key)
            if seen is None:
                seen = self._seen[key] = _Seen(None)
                if len(self._seen) > self._max_fingerprints:
                    del self._seen[next(iter(self._seen))]
            if seen.last_sent is not None and now - seen.last_sent < self._window_s:
                seen.pending += 1
                self.stats.duplicates += 1
                return 0
            if day != self._day:
                self._day, self._spent = day, 0
            if self._spent >= self._budget:
                seen.pending += 1
                self.stats.over_budget += 1
                if self._spent == self._budget:  # the first refusal of the day: say so once
                    self._spent += 1
                    log.warning(
                        "error budget spent: %d reports today; further errors go to stdout "
                        "only until 00:00 UTC",
                        self._budget,
                        extra={"budget": self._budget},
                    )
                return 0
            occurrences = seen.pending + 1
            seen.last_sent, seen.pending = now, 0
            self._spent += 1
            self.stats.reported += 1
            return occurrences

    def used_today(self) -> int:
        """Reports sent to the sink this UTC day by this instance (the admin gauge)."""
        with self._lock:
            if self._day != self._clock.now().date():
                return 0
            return min(self._spent, self._budget)

    async def flush(self, timeout_s: float) -> bool:
        return await self._inner.flush(timeout_s)

    def close(self) -> None:
        """Close the inner reporter if it has anything to close (the Rollbar thread)."""
        close = getattr(self._inner, "close", None)
        if callable(close):
            close()
