"""Passkeys' request and response shapes: the WebAuthn options as the browser's JSON
(`PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON` take them),
the credentials as `PublicKeyCredential.toJSON()` gives them, and the stored passkeys."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from domain.auth.passkey import PASSKEY_NAME_MAX, CeremonyOptions, Passkey
from schemas.common import In, Moment, Token, omitted_when_none

B64 = Annotated[str, Field(min_length=1, max_length=16_384, description="base64url")]
CredentialId = Annotated[str, Field(min_length=1, max_length=1_400, description="base64url")]
PasskeyName = Annotated[str, Field(max_length=PASSKEY_NAME_MAX)]


class _Open(BaseModel):
    """A WebAuthn dictionary: members a later library version adds pass through."""

    model_config = ConfigDict(extra="allow")


class RelyingPartyOut(_Open):
    id: str
    name: str


class UserEntityOut(_Open):
    id: str = Field(description="the user handle, base64url")
    name: str
    displayName: str


class CredentialParameterOut(_Open):
    type: Literal["public-key"]
    alg: int = Field(description="a COSE algorithm: -7 ES256, -8 EdDSA, -257 RS256")


class CredentialDescriptorOut(_Open):
    id: str = Field(description="a credential id, base64url")
    type: Literal["public-key"]
    transports: list[str] | None = omitted_when_none("usb, nfc, ble, internal, hybrid, ...")


class AuthenticatorSelectionOut(_Open):
    residentKey: str
    requireResidentKey: bool
    userVerification: str


class CreationOptionsOut(_Open):
    """For `navigator.credentials.create({publicKey})`: a discoverable credential (resident
    key required), user verification preferred, no attestation, the user's passkeys excluded."""

    rp: RelyingPartyOut
    user: UserEntityOut
    challenge: str = Field(description="base64url")
    pubKeyCredParams: list[CredentialParameterOut]
    timeout: int = Field(description="milliseconds")
    excludeCredentials: list[CredentialDescriptorOut]
    authenticatorSelection: AuthenticatorSelectionOut
    attestation: str


class RequestOptionsOut(_Open):
    """For `navigator.credentials.get({publicKey})`: `allowCredentials` empty for a
    discoverable login, the user's passkeys when completing a second-factor challenge."""

    challenge: str = Field(description="base64url")
    timeout: int = Field(description="milliseconds")
    rpId: str
    allowCredentials: list[CredentialDescriptorOut]
    userVerification: str


class RegistrationOptionsOut(BaseModel):
    options: CreationOptionsOut
    expires_in: int = Field(description="seconds until the challenge expires")

    @classmethod
    def from_domain(cls, options: CeremonyOptions) -> Self:
        return cls(
            options=CreationOptionsOut.model_validate(options.options),
            expires_in=options.expires_in,
        )


class AuthenticationOptionsOut(BaseModel):
    options: RequestOptionsOut
    expires_in: int = Field(description="seconds until the challenge expires")

    @classmethod
    def from_domain(cls, options: CeremonyOptions) -> Self:
        return cls(
            options=RequestOptionsOut.model_validate(options.options),
            expires_in=options.expires_in,
        )


class _CredentialIn(In):
    model_config = ConfigDict(extra="allow")  # clientExtensionResults and later members
    id: CredentialId
    rawId: CredentialId
    type: Literal["public-key"]
    authenticatorAttachment: str | None = None

    def wire(self) -> dict[str, object]:
        """As the library takes it."""
        return self.model_dump(exclude_none=True)


class AttestationResponseIn(In):
    clientDataJSON: B64
    attestationObject: B64
    transports: list[Annotated[str, Field(max_length=32)]] | None = Field(
        default=None, max_length=16
    )


class RegistrationCredentialIn(_CredentialIn):
    """What `navigator.credentials.create()` gave, as `PublicKeyCredential.toJSON()`."""

    response: AttestationResponseIn


class AssertionResponseIn(In):
    clientDataJSON: B64
    authenticatorData: B64
    signature: B64
    userHandle: B64 | None = None


class AuthenticationCredentialIn(_CredentialIn):
    """What `navigator.credentials.get()` gave, as `PublicKeyCredential.toJSON()`."""

    response: AssertionResponseIn


class PasskeyRegisterIn(In):
    name: PasskeyName = Field(default="", description='shown in the list; empty: "Passkey"')
    credential: RegistrationCredentialIn


class PasskeyRenameIn(In):
    name: PasskeyName


class PasskeyLoginOptionsIn(In):
    mfa_challenge: Token | None = Field(
        default=None,
        description=(
            'a login\'s second-factor challenge (`token_type: "mfa"`): the options then list'
            " that user's passkeys, for `POST /auth/mfa {challenge, credential}`"
        ),
    )


class PasskeyLoginIn(In):
    credential: AuthenticationCredentialIn


class PasskeyOut(BaseModel):
    id: str
    name: str
    created_at: Moment
    last_used_at: Moment | None = omitted_when_none("the last sign-in with it")
    transports: list[str] = Field(description="as the authenticator said at registration")

    @classmethod
    def from_domain(cls, passkey: Passkey) -> Self:
        return cls(
            id=passkey.id,
            name=passkey.name,
            created_at=passkey.created_at,
            last_used_at=passkey.last_used_at,
            transports=list(passkey.transports),
        )


class PasskeyListOut(BaseModel):
    items: list[PasskeyOut] = Field(description="oldest first")
