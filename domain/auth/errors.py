from __future__ import annotations

from domain.errors import Conflict, DomainError, Forbidden, NotFound, Unauthorized


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    default_message = "The email or password is not correct."


class EmailNotVerified(Forbidden):
    code = "email_not_verified"
    default_message = "Verify your email address first; we sent you a code."


class AccountDisabled(Forbidden):
    """An administrator disabled the account: answered only after a correct password or code
    (a disabling is no secret to the account's owner, and a stranger never gets this far)."""

    code = "account_disabled"
    default_message = "This account has been disabled by an administrator."


class CsrfRejected(Forbidden):
    """A request authenticated by the refresh-token cookie came from an origin not allowed, or
    without the CSRF token that proves the page read it (README "Cookies for server rendering")."""

    code = "csrf_rejected"
    default_message = "This request must come from an allowed front end with its CSRF token."


class InvalidOtp(DomainError):
    code = "invalid_otp"
    default_message = "The code is not valid. Request a new one if it has expired."


class InvalidToken(DomainError):
    code = "invalid_token"
    default_message = "The reset token is not valid; it may have expired or been used."


class TokenReused(Unauthorized):
    code = "token_reused"
    default_message = "This refresh token was already used; the session has been signed out."


class EmailTaken(DomainError):
    """Raised by a UserRepository when the (normalized) email already has a user."""

    code = "email_taken"
    default_message = "An account with this email already exists."


class PasswordNotSet(Conflict):
    """A password check of an account that has none (it signs in with email codes)."""

    code = "password_not_set"
    default_message = (
        "This account has no password; confirm with a code (POST /users/me/deletion-code), or"
        " set a password with a reset first."
    )


class InvalidMfaChallenge(Unauthorized):
    """A second-factor challenge that is tampered, expired, spent, or whose factor is gone."""

    code = "invalid_mfa_challenge"
    default_message = "The sign-in challenge is not valid; it may have expired or been used."


class MfaAlreadyEnabled(Conflict):
    code = "mfa_already_enabled"
    default_message = "A second factor is already enabled; disable it first."


class MfaNotEnabled(Conflict):
    code = "mfa_not_enabled"
    default_message = "No second factor is enabled for this account."


class UnknownProvider(NotFound):
    """A provider name that is not configured (or has no client id): answered 404."""

    code = "unknown_provider"
    default_message = "No such sign-in provider is enabled."


class RedirectNotAllowed(DomainError):
    code = "redirect_not_allowed"
    default_message = "The redirect_uri is not one of the front ends' origins (CORS_ORIGINS)."


class InvalidProviderState(DomainError):
    """A callback or exchange whose state or code is unknown, spent or expired."""

    code = "invalid_provider_state"
    default_message = "The sign-in has expired or was already used; start it again."


class ProviderFailed(DomainError):
    code = "provider_failed"
    default_message = "The provider did not confirm the sign-in; try again."


class ProviderEmailUnverified(Forbidden):
    """The provider asserts no verified address: no account is created or linked by it."""

    code = "provider_email_unverified"
    default_message = (
        "The provider did not confirm an email address; verify it there, or sign up with a"
        " password and link the provider."
    )


class IdentityTaken(Conflict):
    code = "identity_taken"
    default_message = "This provider account is already linked to another FlowHub account."


class LastSignInMethod(Conflict):
    code = "last_sign_in_method"
    default_message = (
        "This is the account's only way to sign in; set a password or link another provider first."
    )


class InvalidPasskey(DomainError):
    """A WebAuthn answer that is refused: its challenge tampered, expired, spent or of another
    ceremony, another origin or RP ID, a bad signature, an unknown credential, or a signature
    counter that went back (a cloned authenticator)."""

    code = "invalid_passkey"
    default_message = "The passkey's answer was refused; start again."


class PasskeyExists(Conflict):
    code = "passkey_exists"
    default_message = "This passkey is registered already."


class TooManyPasskeys(Conflict):
    code = "too_many_passkeys"
    default_message = "An account holds at most 20 passkeys; remove one first."
