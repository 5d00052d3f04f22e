"""Auth and OTP routes (API.md, "Auth and OTP"): thin handlers, one auth use case each."""

from __future__ import annotations

from quart import Blueprint, Response, request
from quart_schema import document_response, validate_request, validate_response

from domain.auth.model import OtpPurpose, TokenPair
from domain.auth.principal import Principal
from domain.errors import Unauthorized
from entrypoints.http import cookies
from entrypoints.http.deps import container
from entrypoints.http.guard import authenticated, client_ip
from entrypoints.http.openapi import no_content
from entrypoints.http.user_agent import describe
from entrypoints.http.users import absolute_pair
from schemas.auth import (
    CodeSentOut,
    LoginIn,
    LoginOut,
    MfaIn,
    MfaPasskeyIn,
    MfaProofIn,
    MfaStatusOut,
    OtpSendIn,
    OtpVerifyIn,
    OtpVerifyOut,
    PasswordResetIn,
    RecoveryCodesOut,
    RefreshIn,
    SessionListOut,
    SessionOut,
    SignupIn,
    TokenPairOut,
    TotpConfirmIn,
    TotpEnrolmentOut,
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
@cookies.issues_cookie
@validate_request(VerifyEmailIn)
@validate_response(LoginOut, 200)
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 429)
@document_response(ErrorResponse, 403)
async def verify_email(data: VerifyEmailIn) -> LoginOut:
    """Verify the address with its emailed code: the user is signed in (or gets a second-factor
    challenge)."""
    codes = container().services.email_codes()
    pair = await codes.verify_email(data.email, data.code, client_ip(), _client())
    return LoginOut.from_domain(_absolute(pair))


@blueprint.post("/login")
@cookies.issues_cookie
@validate_request(LoginIn)
@validate_response(LoginOut, 200)
@document_response(ErrorResponse, 401)
@document_response(ErrorResponse, 403)
@document_response(ErrorResponse, 429)
async def login(data: LoginIn) -> LoginOut:
    """Sign in with email and password: a TokenPair, or a challenge (`token_type: "mfa"`) to
    complete at `POST /auth/mfa` when the user has a second factor."""
    login = container().services.password_login()
    pair = await login.login(data.email, data.password, client_ip(), _client())
    return LoginOut.from_domain(_absolute(pair))


@blueprint.post("/mfa")
@cookies.issues_cookie
@validate_request(MfaIn)
@validate_response(TokenPairOut, 200)
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 401)
@document_response(ErrorResponse, 429)
@document_response(ErrorResponse, 403)
async def complete_mfa(data: MfaIn) -> TokenPairOut:
    """Complete a login's second-factor challenge with a TOTP code, a recovery code, or a
    passkey's answer (its options from `POST /auth/passkeys/login/options {mfa_challenge}`)."""
    mfa = container().services.second_factor_login()
    proof = data.root
    if isinstance(proof, MfaPasskeyIn):
        pair = await mfa.complete_with_passkey(proof.challenge, proof.credential.wire(), _client())
    else:
        pair = await mfa.complete(proof.challenge, proof.code, client_ip(), _client())
    return TokenPairOut.from_domain(absolute_pair(pair))


@blueprint.get("/mfa/totp")
@authenticated
@validate_response(MfaStatusOut, 200)
async def mfa_status(principal: Principal) -> MfaStatusOut:
    """Whether the caller has a second factor (enabled, or an enrolment pending)."""
    status = await container().services.second_factor_settings().status(principal.user_id)
    return MfaStatusOut.from_domain(status)


@blueprint.post("/mfa/totp")
@authenticated
@validate_response(TotpEnrolmentOut, 200)
@document_response(ErrorResponse, 409)
async def start_totp(principal: Principal) -> TotpEnrolmentOut:
    """Start an enrolment: a fresh secret, pending until confirmed (replaces a pending one)."""
    enrolment = await container().services.second_factor_settings().start(principal.user_id)
    return TotpEnrolmentOut.from_domain(enrolment)


@blueprint.post("/mfa/totp/confirm")
@authenticated
@validate_request(TotpConfirmIn)
@validate_response(RecoveryCodesOut, 200)
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 409)
@document_response(ErrorResponse, 429)
async def confirm_totp(principal: Principal, data: TotpConfirmIn) -> RecoveryCodesOut:
    """Enable the pending factor with a current code: its recovery codes, shown this once."""
    settings = container().services.second_factor_settings()
    codes = await settings.confirm(principal.user_id, data.code, client_ip())
    return RecoveryCodesOut(recovery_codes=codes)


@blueprint.post("/mfa/totp/recovery-codes")
@authenticated
@validate_request(MfaProofIn)
@validate_response(RecoveryCodesOut, 200)
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 401)
@document_response(ErrorResponse, 409)
@document_response(ErrorResponse, 429)
async def regenerate_recovery_codes(principal: Principal, data: MfaProofIn) -> RecoveryCodesOut:
    """New recovery codes (the old ones stop working), proven by a fresh code or the password."""
    settings = container().services.second_factor_settings()
    codes = await settings.regenerate(
        principal.user_id, client_ip(), code=data.code, password=data.password
    )
    return RecoveryCodesOut(recovery_codes=codes)


@blueprint.delete("/mfa/totp")
@authenticated
@validate_request(MfaProofIn)
@no_content
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 401)
@document_response(ErrorResponse, 409)
@document_response(ErrorResponse, 429)
async def disable_totp(principal: Principal, data: MfaProofIn) -> Response:
    """Disable the second factor (204), proven by a fresh code or the password."""
    settings = container().services.second_factor_settings()
    await settings.disable(principal.user_id, client_ip(), code=data.code, password=data.password)
    return _no_content()


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
@cookies.issues_cookie
@validate_request(OtpVerifyIn)
@validate_response(OtpVerifyOut, 200)
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 429)
@document_response(ErrorResponse, 403)
async def verify_code(data: OtpVerifyIn) -> OtpVerifyOut:
    """Spend an emailed code: a TokenPair for `login` and `verify_email`, a ResetGrant for
    `password_reset` (`token_type` tells which)."""
    result = (
        await container()
        .services.email_codes()
        .verify_code(data.email, OtpPurpose(data.purpose), data.code, client_ip(), _client())
    )
    return OtpVerifyOut.from_domain(_absolute(result))


@blueprint.post("/password/reset")
@validate_request(PasswordResetIn)
@no_content
@document_response(ErrorResponse, 400)
async def reset_password(data: PasswordResetIn) -> Response:
    """Set a new password (204); every session of the user is signed out."""
    await container().services.password_reset().reset_password(data.reset_token, data.new_password)
    return _no_content()


@blueprint.post("/refresh")
@cookies.issues_cookie
@validate_request(RefreshIn)
@validate_response(TokenPairOut, 200)
@document_response(ErrorResponse, 401)
@document_response(ErrorResponse, 403)
async def refresh(data: RefreshIn) -> TokenPairOut:
    """Spend the refresh token for a new pair (rotation); a spent token revokes its family.
    The token is the body's, or the refresh-token cookie's (cookie transport, CSRF-checked)."""
    pair = await container().services.sessions().refresh(_refresh_token(data))
    return TokenPairOut.from_domain(absolute_pair(pair))


@blueprint.post("/logout")
@cookies.clears_cookie
@authenticated
@validate_request(RefreshIn)
@no_content
@document_response(ErrorResponse, 401)
@document_response(ErrorResponse, 403)
async def logout(principal: Principal, data: RefreshIn) -> Response:
    """Revoke the session of this refresh token (204): the body's, or the cookie's (cleared)."""
    await container().services.sessions().logout(principal.user_id, _refresh_token(data))
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


def _refresh_token(data: RefreshIn) -> str:
    token = cookies.refresh_token(data.refresh_token)
    if token is None:
        raise Unauthorized("The refresh token is not valid.")
    return token


def _absolute[R](result: R) -> R:
    """A sign-in's answer with its user's avatar URL absolute (a challenge carries none)."""
    return absolute_pair(result) if isinstance(result, TokenPair) else result  # type: ignore[return-value]
