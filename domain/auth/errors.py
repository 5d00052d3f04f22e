from __future__ import annotations

from domain.errors import Conflict, DomainError, Forbidden, Unauthorized


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
