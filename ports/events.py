from __future__ import annotations

from typing import Protocol


class EventLog(Protocol):
    """Workflow events (a signup, a login, a code sent...) for the operators' logs.

    Fields carry ids, outcomes and sizes only (`user_id`, `purpose`, `method`, `size`): never an
    email address, a name (a person's or a file's), a password, a code or a token. Recording is
    synchronous and never blocks: it hands the event to the logging machinery, which ships it
    on its own threads.
    """

    def record(self, event: str, /, **fields: str | int) -> None:
        """A step of a workflow happened."""
        ...

    def warn(self, event: str, /, **fields: str | int) -> None:
        """A step that an operator should notice happened (a spent refresh token reused)."""
        ...
