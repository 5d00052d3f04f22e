"""File names as users give them, made safe to show and to send back in a header.

A display name is never used to build a storage key or a path; it is only shown and offered
as the download's name (Content-Disposition, RFC 6266 with RFC 5987's `filename*`).
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

NAME_MAX = 255
FALLBACK_NAME = "file"
_SEPARATORS = frozenset("/\\")


def safe_display_name(raw: str, max_length: int = NAME_MAX) -> str:
    """NFC; control, format and separator characters (`/`, `\\`, line and paragraph
    separators) removed; whitespace collapsed and trimmed; leading dots dropped (no hidden or
    `..` names); at most `max_length` characters, keeping the extension; never empty."""
    text = unicodedata.normalize("NFC", raw)
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in _SEPARATORS or category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            continue
        kept.append(" " if category == "Zs" else ch)
    name = " ".join("".join(kept).split()).lstrip(". ")
    if len(name) > max_length:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and 0 < len(ext) <= 16:
            name = stem[: max_length - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:max_length].rstrip()
    return name or FALLBACK_NAME


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII `filename` fallback and the exact name as `filename*`."""
    safe = safe_display_name(name)
    ascii_name = unicodedata.normalize("NFKD", safe).encode("ascii", "ignore").decode("ascii")
    fallback = "".join(c if c.isprintable() and c not in '"\\;%' else "_" for c in ascii_name)
    fallback = fallback.strip() or FALLBACK_NAME
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(safe, safe='')}"
