"""SNS message signatures with `cryptography`, certificates fetched over aiohttp.

Only URLs the policy allows are fetched (checked here again, whatever the caller did), with
no redirects followed, a short timeout and a size bound; fetched certificates are kept (at
most `CACHE_SIZE`, each for `CACHE_TTL_S`), so a stream of notifications costs one fetch per
certificate rotation, not one per message.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import TYPE_CHECKING

from domain.errors import ServiceUnavailable
from domain.mail.sns import SnsPolicy
from ports.clock import Clock

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

log = logging.getLogger("flowhub.sns")

CACHE_SIZE = 16
CACHE_TTL_S = 24 * 3600
FETCH_TIMEOUT_S = 5.0
MAX_CERTIFICATE_BYTES = 64 * 1024


class UnexpectedAnswer(Exception):
    """A URL answered something other than a 2xx (or too much)."""


class HttpSnsSignatures:
    def __init__(self, policy: SnsPolicy, clock: Clock) -> None:
        self._policy = policy
        self._clock = clock
        self._keys: OrderedDict[str, tuple[float, RSAPublicKey]] = OrderedDict()

    async def verify(self, cert_url: str, canonical: bytes, signature: bytes, version: str) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        if version not in ("1", "2"):
            return False
        key = await self._key(cert_url)
        if key is None:
            return False
        digest = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 (SNS's v1)
        try:
            key.verify(signature, canonical, padding.PKCS1v15(), digest)
        except InvalidSignature:
            return False
        return True

    async def confirm(self, subscribe_url: str) -> None:
        """A SubscribeURL that cannot be reached is a 503: SNS retries the confirmation."""
        try:
            await self._get(subscribe_url)
        except ServiceUnavailable:
            raise
        except Exception as error:  # aiohttp's ClientError, a timeout, a non-2xx answer
            log.warning("sns subscription not confirmed: %s", type(error).__name__)
            raise ServiceUnavailable() from error

    async def _key(self, cert_url: str) -> RSAPublicKey | None:
        now = self._clock.monotonic()
        cached = self._keys.get(cert_url)
        if cached is not None and now - cached[0] < CACHE_TTL_S:
            self._keys.move_to_end(cert_url)
            return cached[1]
        try:
            key = self._certificate_key(await self._get(cert_url))
        except (UnexpectedAnswer, OSError, TimeoutError, ValueError) as error:
            log.warning("sns certificate not usable: %s", type(error).__name__)
            return None
        except Exception as error:  # aiohttp's ClientError and friends
            log.warning("sns certificate not fetched: %s", type(error).__name__)
            return None
        if key is None:
            return None
        self._keys[cert_url] = (now, key)
        self._keys.move_to_end(cert_url)
        while len(self._keys) > CACHE_SIZE:
            self._keys.popitem(last=False)
        return key

    def _certificate_key(self, pem: bytes) -> RSAPublicKey | None:
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

        certificate = x509.load_pem_x509_certificate(pem)
        now = self._clock.now()
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            return None
        key = certificate.public_key()
        return key if isinstance(key, RSAPublicKey) else None

    async def _get(self, url: str) -> bytes:
        import aiohttp

        if not self._policy.allowed_url(url):
            raise UnexpectedAnswer("not an allowed URL")
        timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)
        async with (
            asyncio.timeout(FETCH_TIMEOUT_S + 1),
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, allow_redirects=False) as answer,
        ):
            if not 200 <= answer.status < 300:
                raise UnexpectedAnswer(f"status {answer.status}")
            body = await answer.content.read(MAX_CERTIFICATE_BYTES + 1)
            if len(body) > MAX_CERTIFICATE_BYTES:
                raise UnexpectedAnswer("too large")
            return body
