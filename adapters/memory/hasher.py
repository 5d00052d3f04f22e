"""A fast password hasher for tests and development: the PasswordHasher contract, cheaply.

Salted PBKDF2-SHA256 with few iterations, stored as `pbkdf2$<iterations>$<salt hex>$<hash hex>`.
Not for production: its cost is far below what a stolen hash table calls for.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

DEFAULT_ITERATIONS = 1_000
MAX_ITERATIONS = 100_000  # a stored hash asking for more is refused, not computed
SALT_BYTES = 16
HASH_BYTES = 32
_SCHEME = "pbkdf2"


def _derive(password: str, salt: bytes, iterations: int) -> bytes:
    # "surrogatepass": a lone surrogate (JSON allows "\ud800") must not make hashing raise.
    secret = password.encode("utf-8", "surrogatepass")
    return hashlib.pbkdf2_hmac("sha256", secret, salt, iterations, HASH_BYTES)


class MemoryPasswordHasher:
    def __init__(self, iterations: int = DEFAULT_ITERATIONS) -> None:
        if not 1 <= iterations <= MAX_ITERATIONS:
            raise ValueError(f"iterations must be between 1 and {MAX_ITERATIONS}")
        self._iterations = iterations

    async def hash(self, password: str) -> str:
        salt = secrets.token_bytes(SALT_BYTES)
        digest = _derive(password, salt, self._iterations)
        return f"{_SCHEME}${self._iterations}${salt.hex()}${digest.hex()}"

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when `password` matches; False on a mismatch and for a malformed hash."""
        parsed = _parse(password_hash)
        if parsed is None:
            return False
        iterations, salt, expected = parsed
        return hmac.compare_digest(_derive(password, salt, iterations), expected)


def _parse(password_hash: str) -> tuple[int, bytes, bytes] | None:
    parts = password_hash.split("$")
    if len(parts) != 4 or parts[0] != _SCHEME:
        return None
    rounds, salt_hex, hash_hex = parts[1:]
    if not (rounds.isascii() and rounds.isdigit()) or len(rounds) > 6:
        return None
    iterations = int(rounds)
    try:
        salt, expected = bytes.fromhex(salt_hex), bytes.fromhex(hash_hex)
    except ValueError:
        return None
    if not 1 <= iterations <= MAX_ITERATIONS or not salt or len(expected) != HASH_BYTES:
        return None
    return iterations, salt, expected
