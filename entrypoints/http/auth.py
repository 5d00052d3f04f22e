"""Auth and OTP routes (API.md, "Auth and OTP"): thin handlers, one auth use case each."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify
from quart_schema import document_response, validate_request

from domain.auth.model import OtpPurpose, ResetGrant
from domain.auth.principal import Principal
from entrypoints.http.deps import container
from entrypoints.http.guard import authenticated, client_ip
from entrypoints.http.openapi import no_content
from entrypoints.http.serialize import reset_grant_json, token_pair_json
from schemas.auth import (
    LoginIn,
    OtpRequestIn,
    OtpVerifyIn,
    OtpVerifyOut,
    PasswordResetIn,
    RefreshIn,
    SignupIn,
    TokenPairOut,
    VerifyEmailIn,
)
from schemas.common import ErrorResponse, StatusOut

blueprint = Blueprint("auth", __name__, url_prefix="/auth")


def _status(body: dict[str, object], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _no_content() -> Response:
    return Response(status=204)


@blueprint.post("/signup")
@validate_request(SignupIn)
@document_response(StatusOut, 202)
@document_response(ErrorResponse, 429)
async def signup(data: SignupIn) -> Response:
    """Register; the same 202 whether or not the email already has an account."""
    await (
        container()
        .services.registration()
        .signup(data.email, data.password, data.name, client_ip())
    )
    return _status({"status": "verification_sent"}, 202)


@blueprint.post("/verify-email")
@validate_request(VerifyEmailIn)
@document_response(TokenPairOut, 200)
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 429)
async def verify_email(data: VerifyEmailIn) -> Response:
    pair = await container().services.email_codes().verify_email(data.email, data.code, client_ip())
    return jsonify(token_pair_json(pair))


@blueprint.post("/login")
@validate_request(LoginIn)
@document_response(TokenPairOut, 200)
@document_response(ErrorResponse, 401)
@document_response(ErrorResponse, 403)
@document_response(ErrorResponse, 429)
async def login(data: LoginIn) -> Response:
    pair = await container().services.password_login().login(data.email, data.password, client_ip())
    return jsonify(token_pair_json(pair))


@blueprint.post("/otp/request")
@validate_request(OtpRequestIn)
@document_response(StatusOut, 202)
@document_response(ErrorResponse, 429)
async def request_code(data: OtpRequestIn) -> Response:
    """Mail a 6-digit code; the same 202 whether or not the email has an account."""
    codes = container().services.email_codes()
    await codes.request_code(data.email, OtpPurpose(data.purpose), client_ip())
    return _status({"status": "sent_if_exists"}, 202)


@blueprint.post("/otp/verify")
@validate_request(OtpVerifyIn)
@document_response(OtpVerifyOut, 200)
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 429)
async def verify_code(data: OtpVerifyIn) -> Response:
    """`login` and `verify_email` codes give a TokenPair; a `password_reset` code gives a
    reset token."""
    result = (
        await container()
        .services.email_codes()
        .verify_code(data.email, OtpPurpose(data.purpose), data.code, client_ip())
    )
    if isinstance(result, ResetGrant):
        return jsonify(reset_grant_json(result))
    return jsonify(token_pair_json(result))


@blueprint.post("/password/reset")
@validate_request(PasswordResetIn)
@no_content
@document_response(ErrorResponse, 400)
async def reset_password(data: PasswordResetIn) -> Response:
    """Set a new password (204); every session of the user is signed out."""
    await container().services.password_reset().reset_password(data.reset_token, data.new_password)
    return _no_content()


@blueprint.post("/refresh")
@validate_request(RefreshIn)
@document_response(TokenPairOut, 200)
@document_response(ErrorResponse, 401)
async def refresh(data: RefreshIn) -> Response:
    """Spend the refresh token for a new pair (rotation); a spent token revokes its family."""
    pair = await container().services.sessions().refresh(data.refresh_token)
    return jsonify(token_pair_json(pair))


@blueprint.post("/logout")
@authenticated
@validate_request(RefreshIn)
@no_content
async def logout(principal: Principal, data: RefreshIn) -> Response:
    """Revoke the session of this refresh token (204)."""
    await container().services.sessions().logout(principal.user_id, data.refresh_token)
    return _no_content()


@blueprint.post("/logout-all")
@authenticated
@no_content
async def logout_all(principal: Principal) -> Response:
    """Revoke every session of the caller (204)."""
    await container().services.sessions().logout_all(principal.user_id)
    return _no_content()
