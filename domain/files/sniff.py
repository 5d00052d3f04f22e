"""What a file really is, from its first bytes (magic numbers), whatever it is called.

Only types that can be recognised this way can be allowed: an upload's declared type must be
what its bytes say.
"""

from __future__ import annotations

import codecs

SNIFF_BYTES = 8192  # enough for every signature, and a fair sample of a text file

PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
PDF = "application/pdf"
TEXT = "text/plain"

SNIFFABLE_TYPES: tuple[str, ...] = (PNG, JPEG, GIF, WEBP, PDF, TEXT)

_ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "image/x-png": PNG}
_UNDECLARED = frozenset({"", "application/octet-stream", "binary/octet-stream"})


_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", PNG),
    (0, b"\xff\xd8\xff", JPEG),
    (0, b"GIF87a", GIF),
    (0, b"GIF89a", GIF),
    (8, b"WEBP", WEBP),  # after b"RIFF" and a 4-byte size
    (0, b"%PDF-", PDF),
)


def sniff(head: bytes, complete: bool = False) -> str | None:
    """The type of a file that starts with `head`, or None when it is none we recognise.

    Text is UTF-8 without NUL bytes; `complete` says `head` is the whole file (otherwise a
    multi-byte character cut at the end of `head` is fine)."""
    for offset, magic, media in _SIGNATURES:
        if head.startswith(magic, offset) and (media != WEBP or head.startswith(b"RIFF")):
            return media
    return TEXT if is_text(head, final=complete) else None


def is_text(data: bytes, final: bool) -> bool:
    if b"\x00" in data:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=final)
    except UnicodeDecodeError:
        return False
    return True


class TextCheck:
    """Checks a text file chunk by chunk: UTF-8 all through, no NUL byte."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    def feed(self, chunk: bytes, final: bool = False) -> bool:
        if b"\x00" in chunk:
            return False
        try:
            self._decoder.decode(chunk, final=final)
        except UnicodeDecodeError:
            return False
        return True


def declared_type(raw: str | None) -> str | None:
    """The media type a client declared, lower-cased and without parameters; None when it
    declared nothing useful (no type, or application/octet-stream)."""
    media = (raw or "").split(";", 1)[0].strip().lower()
    if media in _UNDECLARED:
        return None
    return _ALIASES.get(media, media)
