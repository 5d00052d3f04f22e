"""The WebAuthn ceremonies through py_webauthn (`webauthn`): options as the browser's JSON,
registration and authentication responses parsed and verified (origin, RP ID hash, challenge,
user presence, attestation "none" or a verifiable one, the signature).

The library's own counter check is not used (the counter is passed as 0): the caller judges a
counter that went back after the signature is verified, so only a genuine assertion of a
cloned authenticator is logged as one (domain/auth/passkeys.py)."""

from __future__ import annotations

import json
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from domain.auth.errors import InvalidPasskey
from domain.auth.passkey import (
    Assertion,
    NewCredential,
    Passkey,
    RelyingParty,
    VerifiedAssertion,
)

# ES256 (every platform authenticator), EdDSA, RS256 (Windows Hello's older keys)
ALGORITHMS = [
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
]
_TRANSPORTS = {t.value for t in AuthenticatorTransport}
# what a malformed answer raises inside the library besides its own errors
_MALFORMED = (WebAuthnException, ValueError, KeyError, TypeError, AttributeError, IndexError)


def _descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(p.credential_id),
            transports=[AuthenticatorTransport(t) for t in p.transports if t in _TRANSPORTS],
        )
        for p in passkeys
    ]


def _json(options: Any) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(options_to_json(options))
    return loaded


class PyWebAuthnVerifier:
    def registration_options(
        self,
        rp: RelyingParty,
        *,
        user_id: str,
        user_name: str,
        display_name: str,
        challenge: bytes,
        exclude: list[Passkey],
        timeout_ms: int,
    ) -> dict[str, object]:
        options = generate_registration_options(
            rp_id=rp.id,
            rp_name=rp.name,
            user_name=user_name,
            user_id=user_id.encode(),  # the user handle: a random id, nothing personal
            user_display_name=display_name,
            challenge=challenge,
            timeout=timeout_ms,
            attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                require_resident_key=True,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=_descriptors(exclude),
            supported_pub_key_algs=ALGORITHMS,
        )
        return _json(options)

    def authentication_options(
        self,
        rp: RelyingParty,
        *,
        challenge: bytes,
        allow: list[Passkey],
        timeout_ms: int,
        require_user_verification: bool = False,
    ) -> dict[str, object]:
        verification = (
            UserVerificationRequirement.REQUIRED
            if require_user_verification
            else UserVerificationRequirement.PREFERRED
        )
        options = generate_authentication_options(
            rp_id=rp.id,
            challenge=challenge,
            timeout=timeout_ms,
            allow_credentials=_descriptors(allow),
            user_verification=verification,
        )
        return _json(options)

    def registration_challenge(self, credential: dict[str, object]) -> bytes:
        try:
            parsed = parse_registration_credential_json(credential)
            return parse_client_data_json(parsed.response.client_data_json).challenge
        except _MALFORMED as error:
            raise InvalidPasskey("The passkey's answer is malformed.") from error

    def verify_registration(
        self, rp: RelyingParty, credential: dict[str, object], challenge: bytes
    ) -> NewCredential:
        try:
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=rp.id,
                expected_origin=list(rp.origins),
                require_user_verification=False,  # preferred, not required
                supported_pub_key_algs=ALGORITHMS,
            )
        except _MALFORMED as error:
            raise InvalidPasskey(f"The passkey's answer was refused: {error}") from error
        return NewCredential(
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            user_verified=verified.user_verified,
        )

    def transports(self, credential: dict[str, object]) -> tuple[str, ...]:
        try:
            parsed = parse_registration_credential_json(credential)
        except _MALFORMED:
            return ()
        return tuple(t.value for t in parsed.response.transports or ())

    def assertion(self, credential: dict[str, object]) -> Assertion:
        try:
            parsed = parse_authentication_credential_json(credential)
            challenge = parse_client_data_json(parsed.response.client_data_json).challenge
        except _MALFORMED as error:
            raise InvalidPasskey("The passkey's answer is malformed.") from error
        handle = parsed.response.user_handle
        try:
            user = handle.decode() if handle else None
        except UnicodeDecodeError as error:
            raise InvalidPasskey("The passkey's answer is malformed.") from error
        return Assertion(bytes_to_base64url(parsed.raw_id), challenge, user)

    def verify_assertion(
        self, rp: RelyingParty, credential: dict[str, object], challenge: bytes, passkey: Passkey
    ) -> VerifiedAssertion:
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=rp.id,
                expected_origin=list(rp.origins),
                credential_public_key=passkey.public_key,
                credential_current_sign_count=0,  # judged by the caller, after the signature
                require_user_verification=False,
            )
        except _MALFORMED as error:
            raise InvalidPasskey(f"The passkey's answer was refused: {error}") from error
        return VerifiedAssertion(verified.new_sign_count, verified.user_verified)
