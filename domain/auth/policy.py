"""The numbers auth runs by: lifetimes of tokens and codes, and the limits on guesses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    refresh_ttl_s: int = 30 * 24 * 3600
    refresh_grace_s: int = 5  # once per generation (domain/auth/sessions.py)
    otp_ttl_s: int = 300
    otp_max_attempts: int = 5
    otp_wrong_per_client_hour: int = 10  # for one account from one client address
    otp_wrong_per_hour: int = 30  # for one account from all clients: no stranger locks alone
    otp_cooldown_s: int = 60
    login_failures_per_minute: int = 5
    login_attempts_per_ip_per_minute: int = 30
    login_check_hold_s: int = 10  # the most one password check may hold its account's slot
    # requests that may mail (signups, code requests), so FlowHub's sender mails no inbox flood
    mail_requests_per_ip_per_hour: int = 20
    mail_requests_per_hour: int = 1000
    reset_ttl_s: int = 300
    mfa_challenge_ttl_s: int = 300  # a login's second step, completed at POST /auth/mfa
    recovery_codes: int = 10
    api_requests_per_minute: int = 120
