"""Auth and OTP routes (API.md, "Auth and OTP"): thin handlers, one auth use case each."""

from __future__ import annotations

from quart import Blueprint, Response, request
from quart_schema import document_response, validate_request, validate_response

from domain.auth.model import OtpPurpose, TokenPair
from domain.auth.principal import Principal
from entrypoints.http.deps import container
from entrypoints.http.guard import authenticated, client_ip
from entrypoints.http.openapi import no_content
from entrypoints.http.user_agent import describe
from entrypoints.http.users import absolute_pair
from schemas.auth import (
    CodeSentOut,
    LoginIn,
    OtpSendIn,
    OtpVerifyIn,
    OtpVerifyOut,
    PasswordResetIn,
    RefreshIn,
    SessionListOut,
    SessionOut,
    SignupIn,
    TokenPairOut,
    VerificationSentOut,
    VerifyEmailIn,
)
from schemas.common import ErrorResponse

blueprint = Blueprint("auth", __name__, url_prefix="/auth")


def _no_content() -> Response:
    return Response(status=204)


def _client() -> str:
    return describe(request.headers.get("User-Agent"))


@blueprint.post("/signup")
@validate_request(SignupIn)
@validate_response(VerificationSentOut, 202)
@document_response(ErrorResponse, 429)
async def signup(data: SignupIn) -> tuple[VerificationSentOut, int]:
    """Register; the same 202 whether or not the email already has an account."""
    registration = container().services.registration()
    await registration.signup(data.email, data.password, data.name, client_ip())
    return VerificationSentOut(status="verification_sent"), 202


@blueprint.post("/verify-email")
@validate_request(VerifyEmailIn)
@validate_response(TokenPairOut, 200)
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 429)
async def verify_email(data: VerifyEmailIn) -> TokenPairOut:
    """Verify the address with its emailed code: the user is signed in."""
    codes = container().services.email_codes()
    pair = await codes.verify_email(data.email, data.code, client_ip(), _client())
    return TokenPairOut.from_domain(absolute_pair(pair))


@blueprint.post("/login")
@validate_request(LoginIn)
@validate_response(TokenPairOut, 200)
@document_response(ErrorResponse, 401)
@document_response(ErrorResponse, 403)
@document_response(ErrorResponse, 429)
async def login(data: LoginIn) -> TokenPairOut:
    """Sign in with email and password."""
    login = container().services.password_login()
    pair = await login.login(data.email, data.password, client_ip(), _client())
    return TokenPairOut.from_domain(absolute_pair(pair))


@blueprint.post("/otp/request")
@validate_request(OtpSendIn)
@validate_response(CodeSentOut, 202)
@document_response(ErrorResponse, 429)
async def request_code(data: OtpSendIn) -> tuple[CodeSentOut, int]:
    """Mail a 6-digit code; the same 202 whether or not the email has an account."""
    codes = container().services.email_codes()
    await codes.request_code(data.email, OtpPurpose(data.purpose), client_ip())
    return CodeSentOut(status="sent_if_exists"), 202


@blueprint.post("/otp/verify")
@validate_request(OtpVerifyIn)
@validate_response(OtpVerifyOut, 200)
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 429)
async def verify_code(data: OtpVerifyIn) -> OtpVerifyOut:
    """Spend an emailed code: a TokenPair for `login` and `verify_email`, a ResetGrant for
    `password_reset` (`token_type` tells which)."""
    result = (
        await container()
        .services.email_codes()
        .verify_code(data.email, OtpPurpose(data.purpose), data.code, client_ip(), _client())
    )
    return OtpVerifyOut.from_domain(
        absolute_pair(result) if isinstance(result, TokenPair) else result
    )


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
@validate_response(TokenPairOut, 200)
@document_response(ErrorResponse, 401)
async def refresh(data: RefreshIn) -> TokenPairOut:
    """Spend the refresh token for a new pair (rotation); a spent token revokes its family."""
    pair = await container().services.sessions().refresh(data.refresh_token)
    return TokenPairOut.from_domain(absolute_pair(pair))


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


@blueprint.get("/sessions")
@authenticated
@validate_response(SessionListOut, 200)
async def list_sessions(principal: Principal) -> SessionListOut:
    """The caller's sessions, newest first: when each began, when it last renewed its token,
    the client that opened it (coarse), and which one is this request's."""
    families = await container().services.sessions().of_user(principal.user_id)
    return SessionListOut(
        items=[SessionOut.from_domain(f, current=f.id == principal.session_id) for f in families]
    )


@blueprint.delete("/sessions/<session_id>")
@authenticated
@no_content
@document_response(ErrorResponse, 404)
async def end_session(principal: Principal, session_id: str) -> Response:
    """End one of the caller's sessions (204), as its own logout would: its refresh and access
    tokens stop working and its sockets are disconnected, on every instance."""
    await container().services.sessions().end(principal.user_id, session_id)
    return _no_content()
