from __future__ import annotations

import secrets


class RandomIdGenerator:
    """128 random bits, hex: opaque, unguessable, URL-safe."""

    def new_id(self) -> str:
        return secrets.token_hex(16)
