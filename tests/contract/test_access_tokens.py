"""The AccessTokenCodec contract on the JWT codec: what it issues verifies into the claims it
was given; everything else (forged, tampered, expired, misaddressed, the wrong type or
algorithm, garbage) is one `Unauthorized` that names nothing about the library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from adapters.jwt.access_tokens import INVALID_MESSAGE, VERIFIED_TOKENS, JwtAccessTokenCodec
from domain.errors import Unauthorized
from ports.security import AccessTokenCodec

pytestmark = pytest.mark.contract

SECRET = "k" * 64  # long enough for HS512 too, so the forged HS512 token is well signed
NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
TTL = 900


class Sequence:
    def __init__(self) -> None:
        self.n = 0

    def new_id(self) -> str:
        self.n += 1
        return f"jti-{self.n}"


@pytest.fixture
def codec() -> JwtAccessTokenCodec:
    return JwtAccessTokenCodec(SECRET)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64json(value: object) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def claims(**changes: Any) -> dict[str, Any]:
    """The claims the codec would issue at NOW, changed (a None value removes the claim)."""
    iat = int(NOW.timestamp())
    base: dict[str, Any] = {
        "iss": "flowhub",
        "aud": "flowhub-api",
        "sub": "user-1",
        "typ": "access",
        "iat": iat,
        "exp": iat + TTL,
        "jti": "token-1",
        "sid": "session-1",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def signed(payload: dict[str, Any], secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, secret, algorithm=algorithm)


def hand_signed(header: dict[str, Any], payload: object, secret: str = SECRET) -> str:
    """A token built without PyJWT, HMAC-SHA256 over whatever header it is given."""
    signing_input = f"{b64json(header)}.{b64json(payload)}"
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def assert_rejected(codec: JwtAccessTokenCodec, token: str, now: datetime = NOW) -> None:
    with pytest.raises(Unauthorized) as caught:
        codec.verify(token, now)
    error = caught.value
    assert error.code == "unauthorized"
    assert error.message == str(error) == INVALID_MESSAGE == "The access token is not valid."
    # No library exception travels with it, as a cause or as a shown context.
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


# What it issues ----------------------------------------------------------------------------


def test_an_issued_token_verifies_into_its_claims(codec: JwtAccessTokenCodec) -> None:
    issued = codec.issue("user-1", "session-1", NOW)

    port: AccessTokenCodec = codec  # the adapter is the port, as mypy checks here
    verified = port.verify(issued.token, NOW)

    assert issued.expires_in == TTL == port.ttl_s
    assert verified.user_id == "user-1"
    assert verified.session_id == "session-1"
    assert verified.token_id
    assert verified.expires_at == NOW.replace(microsecond=0) + timedelta(seconds=TTL)


def test_an_issued_token_carries_every_claim_and_is_hs256(codec: JwtAccessTokenCodec) -> None:
    token = codec.issue("user-1", "session-1", NOW + timedelta(microseconds=500)).token

    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})

    assert header == {"alg": "HS256", "typ": "JWT"}
    assert payload == claims(jti=payload["jti"])
    assert isinstance(payload["jti"], str) and len(payload["jti"]) >= 16


def test_every_token_gets_its_own_id() -> None:
    random_ids = JwtAccessTokenCodec(SECRET)
    tokens = [random_ids.issue("user-1", "session-1", NOW).token for _ in range(3)]
    assert len({random_ids.verify(t, NOW).token_id for t in tokens}) == 3

    sequential = JwtAccessTokenCodec(SECRET, ids=Sequence())
    token = sequential.issue("user-1", "session-1", NOW).token
    assert sequential.verify(token, NOW).token_id == "jti-1"


def test_time_is_judged_by_the_given_clock_not_the_systems() -> None:
    codec = JwtAccessTokenCodec(SECRET, ttl_s=60)
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)
    token = codec.issue("user-1", "session-1", long_ago).token

    assert codec.verify(token, long_ago + timedelta(seconds=59)).user_id == "user-1"
    assert_rejected(codec, token, long_ago + timedelta(seconds=60))
    assert_rejected(codec, codec.issue("user-1", "session-1", NOW).token, long_ago)


def test_a_token_is_valid_until_it_expires(codec: JwtAccessTokenCodec) -> None:
    token = codec.issue("user-1", "session-1", NOW).token

    assert codec.verify(token, NOW + timedelta(seconds=TTL - 1))
    assert_rejected(codec, token, NOW + timedelta(seconds=TTL))
    assert_rejected(codec, token, NOW + timedelta(days=365))


def test_a_remembered_token_is_judged_by_the_clock_on_every_call(
    codec: JwtAccessTokenCodec,
) -> None:
    token = codec.issue("user-1", "session-1", NOW).token
    assert codec.verify(token, NOW).user_id == "user-1"  # verified once, now remembered

    assert codec.verify(token, NOW + timedelta(seconds=TTL - 1)).session_id == "session-1"
    assert_rejected(codec, token, NOW - timedelta(seconds=31))  # before it was issued
    assert_rejected(codec, token, NOW + timedelta(seconds=TTL))
    assert codec.verify(token, NOW)  # refused above for the time, never for the token


def test_a_token_is_remembered_only_under_the_string_that_verified(
    codec: JwtAccessTokenCodec,
) -> None:
    token = codec.issue("user-1", "session-1", NOW).token
    assert codec.verify(token, NOW)
    header, payload, signature = token.split(".")
    assert_rejected(codec, f"{header}.{b64json(claims(sub='user-2'))}.{signature}", NOW)
    assert_rejected(codec, f"{header}.{payload}.{signature[:-2]}AA", NOW)
    assert_rejected(codec, token + " ", NOW)


def test_the_memory_of_verified_tokens_is_bounded() -> None:
    codec = JwtAccessTokenCodec(SECRET, ids=Sequence())
    tokens = [codec.issue(f"user-{n}", "session-1", NOW).token for n in range(VERIFIED_TOKENS + 50)]
    for token in tokens:
        codec.verify(token, NOW)
    assert len(codec._verified) == VERIFIED_TOKENS
    assert codec.verify(tokens[0], NOW).user_id == "user-0"  # forgotten ones verify in full


def test_a_small_clock_skew_between_instances_is_tolerated(codec: JwtAccessTokenCodec) -> None:
    ahead = codec.issue("user-1", "session-1", NOW + timedelta(seconds=20)).token
    far_ahead = codec.issue("user-1", "session-1", NOW + timedelta(seconds=31)).token

    assert codec.verify(ahead, NOW)
    assert_rejected(codec, far_ahead, NOW)


def test_the_codec_refuses_a_short_secret() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        JwtAccessTokenCodec("s" * 31)


# What it rejects ---------------------------------------------------------------------------


def test_alg_none_is_rejected(codec: JwtAccessTokenCodec) -> None:
    for alg in ("none", "None", "NONE"):
        unsigned = f"{b64json({'alg': alg, 'typ': 'JWT'})}.{b64json(claims())}."
        assert_rejected(codec, unsigned)
    valid_mac = signed(claims()).rsplit(".", 1)[1]
    assert_rejected(
        codec, f"{b64json({'alg': 'none', 'typ': 'JWT'})}.{b64json(claims())}.{valid_mac}"
    )


def test_a_token_signed_with_another_secret_is_rejected(codec: JwtAccessTokenCodec) -> None:
    assert_rejected(codec, signed(claims(), secret="another secret, just as long as ours, x"))


def test_a_tampered_payload_is_rejected(codec: JwtAccessTokenCodec) -> None:
    header, _, signature = codec.issue("user-1", "session-1", NOW).token.split(".")

    assert_rejected(codec, f"{header}.{b64json(claims(sub='admin'))}.{signature}")
    assert_rejected(codec, f"{header}.{b64json(claims(exp=2**40))}.{signature}")


def test_a_tampered_signature_is_rejected(codec: JwtAccessTokenCodec) -> None:
    token = codec.issue("user-1", "session-1", NOW).token
    flipped = "A" if token[-2] != "A" else "B"

    assert_rejected(codec, token[:-2] + flipped + token[-1])
    assert_rejected(codec, token.rsplit(".", 1)[0] + ".")
    assert_rejected(codec, token.rsplit(".", 1)[0])


def test_an_expired_token_is_rejected(codec: JwtAccessTokenCodec) -> None:
    expired = signed(claims(iat=int(NOW.timestamp()) - TTL - 1, exp=int(NOW.timestamp()) - 1))
    assert_rejected(codec, expired)


def test_a_token_for_another_audience_is_rejected(codec: JwtAccessTokenCodec) -> None:
    for audience in ("flowhub-admin", "", ["flowhub-api"], ["flowhub-api", "other"], 1):
        assert_rejected(codec, signed(claims(aud=audience)))


def test_a_token_from_another_issuer_is_rejected(codec: JwtAccessTokenCodec) -> None:
    for issuer in ("evil", "FlowHub", ""):
        assert_rejected(codec, signed(claims(iss=issuer)))
    hs256 = {"alg": "HS256", "typ": "JWT"}
    for not_a_string in (["flowhub"], {"name": "flowhub"}, 1):  # PyJWT will not sign these
        assert_rejected(codec, hand_signed(hs256, claims(iss=not_a_string)))


@pytest.mark.parametrize("token_type", ["refresh", "reset", "Access", "", None, 1])
def test_a_token_of_another_type_is_rejected(
    codec: JwtAccessTokenCodec, token_type: object
) -> None:
    payload = claims(typ=token_type)
    assert_rejected(codec, signed(payload))


@pytest.mark.parametrize("missing", ["iss", "aud", "sub", "typ", "iat", "exp", "jti", "sid"])
def test_a_token_missing_a_claim_is_rejected(codec: JwtAccessTokenCodec, missing: str) -> None:
    assert_rejected(codec, signed(claims(**{missing: None})))


@pytest.mark.parametrize(
    "bad",
    [
        {"sub": ""},
        {"sub": 42},
        {"sid": ""},
        {"sid": ["s"]},
        {"jti": ""},
        {"jti": 7},
        {"exp": "never"},
        {"exp": float(int(NOW.timestamp()) + 60)},
        {"exp": True},
        {"iat": "now"},
        {"exp": int(NOW.timestamp()) + 86_400},  # longer-lived than this codec issues
        {"exp": 10**30},
        {"iat": 10**30},
    ],
)
def test_a_token_with_a_malformed_claim_is_rejected(
    codec: JwtAccessTokenCodec, bad: dict[str, Any]
) -> None:
    assert_rejected(codec, signed(claims(**bad)))


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_another_hmac_algorithm_is_rejected_even_when_correctly_signed(
    codec: JwtAccessTokenCodec, algorithm: str
) -> None:
    token = signed(claims(), algorithm=algorithm)
    assert jwt.decode(
        token, SECRET, algorithms=[algorithm], audience="flowhub-api", options={"verify_exp": False}
    )

    assert_rejected(codec, token)


def test_an_rs256_header_is_rejected_even_over_a_valid_hmac(codec: JwtAccessTokenCodec) -> None:
    for alg in ("RS256", "ES256", "PS256", "EdDSA"):
        assert_rejected(codec, hand_signed({"alg": alg, "typ": "JWT"}, claims()))


def test_the_hand_signer_makes_tokens_the_codec_accepts(codec: JwtAccessTokenCodec) -> None:
    # The rejections above are then about their one difference, not about the hand signer.
    assert codec.verify(hand_signed({"alg": "HS256", "typ": "JWT"}, claims()), NOW)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        " ",
        ".",
        "..",
        "a.b.c",
        "a.b.c.d.e",
        "Bearer x",
        "not a token",
        "eyJ.eyJ.",
        "ü.ü.ü",
        "\x00\x00\x00",
        "%7B%7D.%7B%7D.",
        "e30.e30.",  # {}.{}.
        f"{b64(b'not json')}.{b64json(claims())}.sig",
        f"{b64json(['alg', 'HS256'])}.{b64json(claims())}.sig",
    ],
)
def test_garbage_is_rejected(codec: JwtAccessTokenCodec, garbage: str) -> None:
    assert_rejected(codec, garbage)


def test_a_payload_that_is_not_an_object_is_rejected_even_when_signed(
    codec: JwtAccessTokenCodec,
) -> None:
    for payload in ([claims()], "claims", 42, None):
        assert_rejected(codec, hand_signed({"alg": "HS256", "typ": "JWT"}, payload))


def test_an_oversized_token_is_rejected_before_it_is_parsed(codec: JwtAccessTokenCodec) -> None:
    huge_but_valid = signed(claims(padding="x" * 10_000))
    assert len(huge_but_valid) > 10_000

    assert_rejected(codec, "x" * 10_240)
    assert_rejected(codec, huge_but_valid)
