"""The messages auth sends: subject, text and HTML bodies."""

from __future__ import annotations

from html import escape

from domain.auth.model import Email, OtpPurpose

_PURPOSE = {
    OtpPurpose.VERIFY_EMAIL: ("Verify your email", "verify your email address"),
    OtpPurpose.LOGIN: ("Your sign-in code", "sign in"),
    OtpPurpose.PASSWORD_RESET: ("Reset your password", "reset your password"),
    OtpPurpose.DELETE_ACCOUNT: (
        "Confirm deleting your account",
        "delete your account and everything in it",
    ),
}


def code_email(
    to: str, name: str | None, purpose: OtpPurpose, code: str, valid_minutes: int
) -> Email:
    """`name` only for a verified address: what a signup typed is no one's to show yet."""
    subject, action = _PURPOSE[purpose]
    subject = f"{subject}: {code}"
    greeting = f"Hi {name}," if name else "Hi,"
    text = (
        f"{greeting}\n\nYour FlowHub code to {action} is {code}.\n"
        f"It is valid for {valid_minutes} minutes and can be used once.\n\n"
        "If you did not ask for it, ignore this message: nothing changes without the code.\n"
    )
    html = (
        f"<p>{escape(greeting)}</p>"
        f"<p>Your FlowHub code to {action} is</p>"
        f'<p style="font-size:28px;font-weight:bold;letter-spacing:4px">{code}</p>'
        f"<p>It is valid for {valid_minutes} minutes and can be used once.</p>"
        "<p>If you did not ask for it, ignore this message: nothing changes without the code.</p>"
    )
    return Email(to=to, subject=subject, text=text, html=html)


def signup_attempt_email(to: str, name: str) -> Email:
    text = (
        f"Hi {name},\n\nSomeone tried to create a FlowHub account with this address, which "
        "already has one. If it was you, sign in instead, or reset your password if you forgot "
        "it. If it was not you, you can ignore this message: your account is unchanged.\n"
    )
    html = (
        f"<p>Hi {escape(name)},</p><p>Someone tried to create a FlowHub account with this "
        "address, which already has one. If it was you, sign in instead, or reset your "
        "password if you forgot it.</p><p>If it was not you, you can ignore this message: "
        "your account is unchanged.</p>"
    )
    return Email(to=to, subject="Someone tried to sign up with your address", text=text, html=html)
