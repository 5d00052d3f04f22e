"""The numbers auth runs by: lifetimes of tokens and codes, and the limits on guesses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    refresh_ttl_s: int = 30 * 24 * 3600
    refresh_grace_s: int = 10
    otp_ttl_s: int = 300
    otp_max_attempts: int = 5
    otp_failures_per_hour: int = 10
    otp_cooldown_s: int = 60
    login_failures_per_minute: int = 5
    login_attempts_per_ip_per_minute: int = 30
    login_check_hold_s: int = 10  # the most one password check may hold its account's slot
    signups_per_ip_per_hour: int = 20
    reset_ttl_s: int = 300
    api_requests_per_minute: int = 120
