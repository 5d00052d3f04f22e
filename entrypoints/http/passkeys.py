"""Passkey routes (README "Passkeys"): registration and management for the signed-in user,
and the discoverable sign-in; thin handlers over domain/auth/passkeys.py."""

from __future__ import annotations

from quart import Blueprint, Response, request
from quart_schema import document_response, validate_request, validate_response

from domain.auth.model import TokenPair
from domain.auth.principal import Principal
from entrypoints.http.deps import container
from entrypoints.http.guard import authenticated
from entrypoints.http.openapi import no_content
from entrypoints.http.user_agent import describe
from entrypoints.http.users import absolute_pair
from schemas.auth import LoginOut
from schemas.common import ErrorResponse
from schemas.passkeys import (
    AuthenticationOptionsOut,
    PasskeyListOut,
    PasskeyLoginIn,
    PasskeyLoginOptionsIn,
    PasskeyOut,
    PasskeyRegisterIn,
    PasskeyRenameIn,
    RegistrationOptionsOut,
)

blueprint = Blueprint("passkeys", __name__, url_prefix="/auth/passkeys")


@blueprint.post("/register/options")
@authenticated
@validate_response(RegistrationOptionsOut, 200)
@document_response(ErrorResponse, 409)
async def passkey_registration_options(principal: Principal) -> RegistrationOptionsOut:
    """Options for `navigator.credentials.create()`: a discoverable credential for the caller,
    their passkeys excluded; the challenge is valid 5 minutes."""
    options = await container().services.passkey_registration().options(principal.user_id)
    return RegistrationOptionsOut.from_domain(options)


@blueprint.post("/register")
@authenticated
@validate_request(PasskeyRegisterIn)
@validate_response(PasskeyOut, 201)
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 409)
async def register_passkey(principal: Principal, data: PasskeyRegisterIn) -> tuple[PasskeyOut, int]:
    """Verify the authenticator's answer to those options and store the passkey."""
    registration = container().services.passkey_registration()
    passkey = await registration.register(principal.user_id, data.name, data.credential.wire())
    return PasskeyOut.from_domain(passkey), 201


@blueprint.get("")
@authenticated
@validate_response(PasskeyListOut, 200)
async def list_passkeys(principal: Principal) -> PasskeyListOut:
    """The caller's passkeys, oldest first."""
    passkeys = await container().services.passkey_registration().of_user(principal.user_id)
    return PasskeyListOut(items=[PasskeyOut.from_domain(p) for p in passkeys])


@blueprint.patch("/<passkey_id>")
@authenticated
@validate_request(PasskeyRenameIn)
@validate_response(PasskeyOut, 200)
@document_response(ErrorResponse, 404)
async def rename_passkey(
    principal: Principal, passkey_id: str, data: PasskeyRenameIn
) -> PasskeyOut:
    """Rename one of the caller's passkeys."""
    registration = container().services.passkey_registration()
    return PasskeyOut.from_domain(
        await registration.rename(principal.user_id, passkey_id, data.name)
    )


@blueprint.delete("/<passkey_id>")
@authenticated
@no_content
@document_response(ErrorResponse, 404)
async def remove_passkey(principal: Principal, passkey_id: str) -> Response:
    """Remove one of the caller's passkeys (204); the last one too (an email code always
    signs the account in)."""
    await container().services.passkey_registration().remove(principal.user_id, passkey_id)
    return Response(status=204)


@blueprint.post("/login/options")
@validate_request(PasskeyLoginOptionsIn)
@validate_response(AuthenticationOptionsOut, 200)
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 401)
async def passkey_login_options(data: PasskeyLoginOptionsIn) -> AuthenticationOptionsOut:
    """Options for `navigator.credentials.get()`: discoverable (no email asked), or, with a
    login's second-factor challenge, that user's passkeys."""
    options = await container().services.passkey_login().options(data.mfa_challenge)
    return AuthenticationOptionsOut.from_domain(options)


@blueprint.post("/login")
@validate_request(PasskeyLoginIn)
@validate_response(LoginOut, 200)
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 403)
async def passkey_login(data: PasskeyLoginIn) -> LoginOut:
    """Sign in with a passkey: a TokenPair, as a password login gives (or a second-factor
    challenge when the authenticator did no user verification and TOTP is enabled)."""
    result = (
        await container()
        .services.passkey_login()
        .login(data.credential.wire(), describe(request.headers.get("User-Agent")))
    )
    return LoginOut.from_domain(absolute_pair(result) if isinstance(result, TokenPair) else result)
