from __future__ import annotations

import logging

from adapters.telemetry.json_logs import STANDARD_ATTRIBUTES

LOGGER = "flowhub.events"


class LoggingEventLog:
    """Workflow events as INFO (or WARNING) log records of `flowhub.events`, with the event's
    name and fields as structured fields: stdout gets them as JSON, Logtail as fields."""

    def __init__(self, logger: str = LOGGER) -> None:
        self._log = logging.getLogger(logger)

    def record(self, event: str, /, **fields: str | int) -> None:
        if self._log.isEnabledFor(logging.INFO):
            self._log.info(event, extra=_extra(event, fields))

    def warn(self, event: str, /, **fields: str | int) -> None:
        if self._log.isEnabledFor(logging.WARNING):
            self._log.warning(event, extra=_extra(event, fields))


def _extra(event: str, fields: dict[str, str | int]) -> dict[str, str | int]:
    # A field named like a LogRecord attribute (`name`, `module`) would make logging raise.
    extra: dict[str, str | int] = {"event": event}
    for key, value in fields.items():
        extra[f"{key}_" if key in STANDARD_ATTRIBUTES else key] = value
    return extra
