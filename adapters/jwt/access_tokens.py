"""Access tokens: short-lived JWTs, HS256 only.

Verification pins the algorithm (no `alg: none`, no HS512 or RS256 however they are signed),
requires every claim this codec writes, and judges time against the `now` it is given, not
the system clock, so it agrees with the rest of the domain (and with a test's clock). Any
failure is one `Unauthorized` whose message says nothing about why or about the library.

A token whose signature and claims passed is remembered (the exact string, its claims), so a
client's next requests with it skip the HMAC and the JSON: the time checks run again on every
call, and a token is only ever found under the very string that was verified. A bounded,
oldest-first memory keeps at most VERIFIED_TOKENS of them (a few MiB).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import jwt

from domain.auth.model import AccessClaims, IssuedToken
from domain.errors import Unauthorized
from ports.ids import IdGenerator

ALGORITHM = "HS256"
TOKEN_TYPE = "access"  # noqa: S105 (a claim value, not a password)
MIN_SECRET_BYTES = 32  # HS256's digest size; what PyJWT recommends as the least
MAX_TOKEN_CHARS = 4096
MAX_CLOCK_SKEW_S = 30  # how far in the future `iat` may be (another instance's clock)
INVALID_MESSAGE = "The access token is not valid."
VERIFIED_TOKENS = 4096

_REQUIRED_CLAIMS = ["iss", "aud", "sub", "typ", "iat", "exp", "jti", "sid"]


class JwtAccessTokenCodec:
    def __init__(
        self,
        secret: str,
        issuer: str = "flowhub",
        audience: str = "flowhub-api",
        ttl_s: int = 900,
        ids: IdGenerator | None = None,
    ) -> None:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"the access token secret must be at least {MIN_SECRET_BYTES} bytes")
        if ttl_s < 1:
            raise ValueError("ttl_s must be positive")
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._ttl_s = ttl_s
        self._ids = ids
        self._verified: dict[str, dict[str, Any]] = {}

    @property
    def ttl_s(self) -> int:
        return self._ttl_s

    def issue(self, user_id: str, session_id: str, now: datetime) -> IssuedToken:
        issued_at = int(now.timestamp())
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": user_id,
            "typ": TOKEN_TYPE,
            "iat": issued_at,
            "exp": issued_at + self._ttl_s,
            "jti": self._ids.new_id() if self._ids else secrets.token_urlsafe(16),
            "sid": session_id,
        }
        return IssuedToken(jwt.encode(claims, self._secret, algorithm=ALGORITHM), self._ttl_s)

    def verify(self, token: str, now: datetime) -> AccessClaims:
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise Unauthorized(INVALID_MESSAGE)
        known = self._verified.get(token)
        if known is not None:
            try:
                return self._claims(known, now.timestamp())
            except Unauthorized:
                del self._verified[token]  # expired: it never becomes valid again
                raise
        claims = self._decode(token)
        verified = self._claims(claims, now.timestamp())
        if len(self._verified) >= VERIFIED_TOKENS:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = claims
        return verified

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={
                    "require": _REQUIRED_CLAIMS,
                    "strict_aud": True,  # `aud` is exactly our audience, never a list
                    # Times are checked below against `now`; PyJWT would use the system clock.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError:
            raise Unauthorized(INVALID_MESSAGE) from None
        return claims

    def _claims(self, claims: dict[str, Any], now: float) -> AccessClaims:
        user_id, session_id, token_id = claims["sub"], claims["sid"], claims["jti"]
        issued_at, expires_at = claims["iat"], claims["exp"]
        valid = (
            claims["typ"] == TOKEN_TYPE
            and all(isinstance(v, str) and v for v in (user_id, session_id, token_id))
            and _is_int(issued_at)
            and _is_int(expires_at)
            and issued_at <= now + MAX_CLOCK_SKEW_S
            # Alive, and not living longer than this codec issues tokens for.
            and now < expires_at <= now + self._ttl_s + MAX_CLOCK_SKEW_S
        )
        if not valid:
            raise Unauthorized(INVALID_MESSAGE)
        return AccessClaims(
            user_id=user_id,
            session_id=session_id,
            token_id=token_id,
            expires_at=datetime.fromtimestamp(expires_at, UTC),
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
