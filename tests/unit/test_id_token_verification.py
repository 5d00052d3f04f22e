"""The ID token checks of adapters/authlib/providers.py, with real keys and real JOSE (joserfc):
each forged or misdirected token is refused. The provider's discovery and JWKS are set as they
would have been fetched, so no network is involved; tests/api/test_federation_api.py covers the
fetching against a real provider."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from adapters.authlib.providers import OpenIdProvider
from ports.federation import ProviderError

ISSUER = "https://issuer.example"
CLIENT = "flowhub"
NONCE = "the-nonce"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
OTHER = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)


def provider() -> OpenIdProvider:
    found = OpenIdProvider("p", ISSUER, CLIENT, "secret")
    found._metadata = {"issuer": ISSUER, "jwks_uri": "https://issuer.example/jwks"}
    found._keys = KeySet([RSAKey.import_key(KEY.as_dict(private=False))])
    return found


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": CLIENT, "sub": "s1", "iat": now, "exp": now + 300}
    base["nonce"] = NONCE
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def signed(payload: dict[str, Any], key: RSAKey = KEY, alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": "k1"}, payload, key)


async def verified(token: str) -> dict[str, Any]:
    checker = provider()

    async def no_refetch(refresh: bool = False) -> KeySet:
        assert checker._keys is not None
        return checker._keys

    checker._key_set = no_refetch  # type: ignore[method-assign]
    return await checker._verified(token, NONCE)


async def test_a_good_token_is_accepted() -> None:
    assert (await verified(signed(claims())))["sub"] == "s1"


@pytest.mark.parametrize(
    "payload",
    [
        claims(iss="https://evil.example"),
        claims(aud="another-client"),
        claims(nonce="another-nonce"),
        claims(nonce=None),
        claims(exp=int(time.time()) - 3600),
        claims(sub=None),
        claims(aud=[CLIENT, "another"], azp="another"),
    ],
    ids=["iss", "aud", "nonce", "no-nonce", "expired", "no-sub", "azp"],
)
async def test_a_misdirected_token_is_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(ProviderError):
        await verified(signed(payload))


async def test_a_token_signed_by_another_key_is_refused() -> None:
    with pytest.raises(ProviderError):
        await verified(signed(claims(), key=OTHER))


async def test_alg_none_is_refused() -> None:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    token = part({"alg": "none", "typ": "JWT"}) + "." + part(claims()) + "."
    with pytest.raises(ProviderError):
        await verified(token)


async def test_hs256_with_the_public_key_as_secret_is_refused() -> None:
    """The algorithm-confusion attack, HMAC keyed with the provider's public key: refused by
    the pinned algorithms and by a key set that holds no shared secret."""
    public = json.dumps(KEY.as_dict(private=False)).encode()
    token = jwt.encode({"alg": "HS256", "kid": "k1"}, claims(), OctKey.import_key(public))
    with pytest.raises(ProviderError):
        await verified(token)
