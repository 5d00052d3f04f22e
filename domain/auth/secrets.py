"""Keyed hashes and self-verifying tokens, from the standard library only.

Refresh tokens are `<family id>.<generation>.<mac>`: the MAC binds the family's secret salt and
the generation to the server's key, so a token can be checked and re-derived (inside the
rotation grace window) while the database keeps only a hash of it. Email codes are stored as a
keyed hash, so a leaked Redis does not reveal codes even though there are only 10^6 of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Keyring:
    def __init__(self, secret: str) -> None:
        root = secret.encode()
        self._refresh = hmac.new(root, b"flowhub refresh token v1", hashlib.sha256).digest()
        self._otp = hmac.new(root, b"flowhub email code v1", hashlib.sha256).digest()
        self._reset = hmac.new(root, b"flowhub password reset v1", hashlib.sha256).digest()
        self._mfa = hmac.new(root, b"flowhub mfa challenge v1", hashlib.sha256).digest()
        self._recovery = hmac.new(root, b"flowhub recovery code v1", hashlib.sha256).digest()
        self._suppression = hmac.new(root, b"flowhub mail suppression v1", hashlib.sha256).digest()
        self._passkey = hmac.new(root, b"flowhub passkey challenge v1", hashlib.sha256).digest()

    # refresh tokens -----------------------------------------------------------------------

    def refresh_token(self, family_id: str, generation: int, salt: str) -> str:
        message = f"{family_id}.{generation}.{salt}".encode()
        mac = _b64(hmac.new(self._refresh, message, hashlib.sha256).digest())
        return f"{family_id}.{generation}.{mac}"

    @staticmethod
    def parse_refresh_token(token: str) -> tuple[str, int] | None:
        parts = token.split(".")
        if len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 9:
            return None
        return parts[0], int(parts[1])

    @staticmethod
    def token_hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def new_salt() -> str:
        return secrets.token_hex(16)

    # email codes --------------------------------------------------------------------------

    @staticmethod
    def new_code() -> str:
        return f"{secrets.randbelow(1_000_000):06d}"

    def code_hash(self, user_id: str, purpose: str, code: str, binding: str = "") -> str:
        """`binding` ties the code to what it was issued for (a `verify_email` code to its
        registration's password hash): the code stops verifying once that changes."""
        message = f"{user_id}:{purpose}:{code}:{binding}".encode()
        return hmac.new(self._otp, message, hashlib.sha256).hexdigest()

    def email_key(self, email: str) -> str:
        """A stable, non-reversible key for an address (rate limits of unknown users, the
        invitations waiting for an address)."""
        return hmac.new(self._otp, email.encode(), hashlib.sha256).hexdigest()[:32]

    def suppression_key(self, email: str) -> str:
        """The key an address is kept under on the mail suppression list: a keyed hash, so
        the list names nobody to whoever reads the database (an unkeyed hash of an address
        is found by hashing guesses). `email` is normalized by the caller."""
        return hmac.new(self._suppression, email.encode(), hashlib.sha256).hexdigest()

    # password reset tokens ----------------------------------------------------------------

    def reset_token(self, user_id: str, grant_id: str, expires_at: int) -> str:
        message = f"{user_id}.{grant_id}.{expires_at}"
        mac = _b64(hmac.new(self._reset, message.encode(), hashlib.sha256).digest())
        return f"{message}.{mac}"

    def open_reset_token(self, token: str) -> tuple[str, str, int] | None:
        """(user id, grant id, expiry as a Unix time) of an authentic token, else None."""
        parts = token.split(".")
        if len(parts) != 4 or not parts[2].isdigit():
            return None
        user_id, grant_id, expires_at, mac = parts
        expected = self.reset_token(user_id, grant_id, int(expires_at)).rsplit(".", 1)[1]
        if not hmac.compare_digest(expected, mac):
            return None
        return user_id, grant_id, int(expires_at)

    # second-factor challenges and recovery codes ------------------------------------------

    def mfa_challenge(self, user_id: str, method: str, issued_ms: int) -> str:
        """A login's pending second step, `<user id>.<method>.<issued ms>.<mac>`: bound to the
        user and to how the first factor was proven; its age and single use are checked
        against `issued_ms` (domain/auth/mfa.py)."""
        message = f"{user_id}.{method}.{issued_ms}"
        mac = _b64(hmac.new(self._mfa, message.encode(), hashlib.sha256).digest())
        return f"{message}.{mac}"

    def open_mfa_challenge(self, token: str) -> tuple[str, str, int] | None:
        """(user id, method, issue time in ms) of an authentic challenge, else None."""
        parts = token.split(".")
        if len(parts) != 4 or not parts[2].isdigit() or len(parts[2]) > 15:
            return None
        user_id, method, issued_ms, mac = parts
        expected = self.mfa_challenge(user_id, method, int(issued_ms)).rsplit(".", 1)[1]
        if not hmac.compare_digest(expected, mac):
            return None
        return user_id, method, int(issued_ms)

    @staticmethod
    def new_recovery_code() -> str:
        """50 random bits as `xxxxx-xxxxx` (base32, no 0/1/8/9 to misread)."""
        raw = base64.b32encode(secrets.token_bytes(10)).decode()[:10].lower()
        return f"{raw[:5]}-{raw[5:]}"

    def recovery_hash(self, user_id: str, code: str) -> str:
        """Keyed, so a leaked database alone allows no offline guessing of the codes; a fast
        hash suffices (no argon2): the codes are random, not chosen by a person."""
        normalized = code.strip().lower().replace("-", "").replace(" ", "")
        message = f"{user_id}:{normalized}".encode()
        return hmac.new(self._recovery, message, hashlib.sha256).hexdigest()

    # passkey (WebAuthn) challenges -----------------------------------------------------------

    def passkey_challenge(self, ceremony: str, subject: str, issued_ms: int) -> str:
        """A WebAuthn challenge that needs no server state, `<ceremony>.<subject>.<issued ms>.
        <nonce>.<mac>`: bound to its ceremony and subject (the user registering, the login's
        second-factor challenge, or none for a discoverable login), 128 random bits in it;
        its age is checked against `issued_ms` and its single use by the credential's
        `spent_before_ms` (domain/auth/passkeys.py)."""
        nonce = _b64(secrets.token_bytes(16))
        return self._passkey_signed(f"{ceremony}.{subject}.{issued_ms}.{nonce}")

    def _passkey_signed(self, message: str) -> str:
        mac = _b64(hmac.new(self._passkey, message.encode(), hashlib.sha256).digest())
        return f"{message}.{mac}"

    def open_passkey_challenge(self, token: str) -> tuple[str, str, int] | None:
        """(ceremony, subject, issue time in ms) of an authentic challenge, else None."""
        parts = token.split(".")
        if len(parts) != 5 or not parts[2].isdigit() or len(parts[2]) > 15:
            return None
        expected = self._passkey_signed(".".join(parts[:4]))
        if not hmac.compare_digest(expected.encode(), token.encode()):
            return None
        return parts[0], parts[1], int(parts[2])

    def authentic_refresh(self, token: str, salt: str) -> bool:
        parsed = self.parse_refresh_token(token)
        if parsed is None:
            return False
        return hmac.compare_digest(self.refresh_token(parsed[0], parsed[1], salt), token)
