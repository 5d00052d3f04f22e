"""TOTP through pyotp: 30 s steps, 6 digits, SHA-1 (the defaults every authenticator app
computes)."""

from __future__ import annotations

from datetime import datetime

import pyotp


class PyotpCodec:
    def new_secret(self) -> str:
        return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends for SHA-1

    def uri(self, secret: str, account: str, issuer: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)

    def step(self, at: datetime) -> int:
        return pyotp.TOTP("A" * 32).timecode(at)  # any secret: the step is the time's

    def code(self, secret: str, step: int) -> str:
        return pyotp.TOTP(secret).generate_otp(step)
