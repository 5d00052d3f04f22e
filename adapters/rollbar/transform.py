"""A pyrollbar payload transform that redacts secret-looking text anywhere in an item (the
exception message, frame code, custom data). Imports rollbar: load it only where the SDK is."""

from __future__ import annotations

from rollbar.lib.transform import Transform
from rollbar.lib.type_info import KeyType

from adapters.telemetry.scrub import redact

_KEEP = frozenset({
    "filename", "method", "class", "level", "environment", "uuid", "fingerprint", "code_version",
})  # fmt: skip


class RedactingTransform(Transform):
    # after SerializableTransform (30), so reprs of objects are strings by then
    priority = 40

    def transform_unicode(self, o: str, key: tuple[KeyType, ...] | None = None) -> str:
        if key and key[-1] in _KEEP:
            return o
        return redact(o)
