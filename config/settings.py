"""Settings: read from the environment once, at start, validated, and frozen.

In production every variable of the deployment must be present and valid; otherwise
`load_settings` raises `SettingsError` naming every offending variable (never a value).
In development and test nothing is required: unset services run on in-memory adapters
and missing secrets are generated (tokens then do not survive a restart).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from domain.files.sniff import SNIFFABLE_TYPES

AppEnv = Literal["development", "test", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

MIN_SECRET_LENGTH = 32

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[A-Za-z]{2,}$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
_AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_HTTP_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?(/\S*)?$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$")

DEFAULT_ERROR_BUDGET_PER_DAY = 150  # 31 x 150 = 4,650: a month stays under Rollbar's 5,000

# Every variable of the production deployment; all are required there.
PRODUCTION_REQUIRED = (
    "MONGODB_URI",
    "REDIS_URL",
    "JWT_SECRET",
    "JWT_REFRESH_SECRET",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "S3_BUCKET_NAME",
    "AWS_SES_REGION",
    "FROM_EMAIL",
    "ROLLBAR_TOKEN",
    "LOGTAIL_TOKEN",
    "CORS_ORIGINS",
)


class SettingsError(Exception):
    """The environment cannot run the app. `problems` names variables, never values."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"FlowHub cannot start: the environment is not valid:\n{lines}")


@dataclass(frozen=True, slots=True)
class Settings:
    app_env: AppEnv = "development"
    port: int = 4000
    log_level: LogLevel = "INFO"
    version: str = "dev"
    mongodb_uri: str | None = field(default=None, repr=False)
    redis_url: str | None = field(default=None, repr=False)
    jwt_secret: str = field(default="", repr=False)
    jwt_refresh_secret: str = field(default="", repr=False)
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_region: str = "ap-south-1"
    aws_endpoint_url_s3: str | None = None
    aws_endpoint_url_ses: str | None = None
    s3_bucket_name: str | None = None
    aws_ses_region: str | None = None
    from_email: str | None = None
    rollbar_token: str | None = field(default=None, repr=False)
    logtail_token: str | None = field(default=None, repr=False)
    rollbar_endpoint: str | None = None
    logtail_host: str | None = None
    error_budget_per_day: int = DEFAULT_ERROR_BUDGET_PER_DAY
    cors_origins: tuple[str, ...] = ()
    max_upload_bytes: int = 10 * 1024 * 1024
    max_json_bytes: int = 64 * 1024
    message_retention_days: int = 90
    allowed_content_types: tuple[str, ...] = SNIFFABLE_TYPES
    shutdown_timeout_s: int = 4
    health_check_timeout_s: float = 1.0
    max_in_flight_requests: int = 64
    generated_secrets: bool = False

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def uses_mongo(self) -> bool:
        return self.mongodb_uri is not None

    @property
    def uses_redis(self) -> bool:
        return self.redis_url is not None

    @property
    def uses_s3(self) -> bool:
        return self.s3_bucket_name is not None and self._has_aws_credentials

    @property
    def uses_ses(self) -> bool:
        return (
            self.aws_ses_region is not None
            and self.from_email is not None
            and self._has_aws_credentials
        )

    @property
    def uses_rollbar(self) -> bool:
        return self.rollbar_token is not None

    @property
    def uses_logtail(self) -> bool:
        return self.logtail_token is not None

    @property
    def _has_aws_credentials(self) -> bool:
        return self.aws_access_key_id is not None and self.aws_secret_access_key is not None


class _Reader:
    """Collects every problem instead of stopping at the first one."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def text(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def check(self, name: str, ok: bool, why: str) -> None:
        if not ok:
            self.problems.append(f"{name}: {why}")

    def valid(self, name: str, test: Callable[[str], object], why: str) -> str | None:
        """The variable's value if set; a problem is recorded when `test` rejects it."""
        value = self.text(name)
        if value is not None and not test(value):
            self.problems.append(f"{name}: {why}")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name}: must be an integer")
            return default
        self.check(name, low <= value <= high, f"must be between {low} and {high}")
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(f"{name}: must be a number")
            return default
        self.check(name, low <= value <= high, f"must be between {low} and {high}")
        return value

    def choice[T: str](self, name: str, default: T, allowed: tuple[T, ...]) -> T:
        raw = self.text(name)
        if raw is None:
            return default
        for option in allowed:
            if raw.lower() == option.lower():
                return option
        self.problems.append(f"{name}: must be one of {', '.join(allowed)}")
        return default


def load_settings(env: Mapping[str, str]) -> Settings:
    """Read and validate the whole environment; raise SettingsError listing every problem."""
    r = _Reader(env)
    app_env = r.choice("APP_ENV", "development", get_args(AppEnv))
    production = app_env == "production"

    if production:
        for name in PRODUCTION_REQUIRED:
            if r.text(name) is None:
                r.problems.append(f"{name}: required in production")

    mongodb_uri = r.valid(
        "MONGODB_URI",
        lambda v: v.startswith(("mongodb://", "mongodb+srv://")),
        "must start with mongodb:// or mongodb+srv://",
    )
    redis_url = r.valid(
        "REDIS_URL",
        lambda v: v.startswith(("redis://", "rediss://", "unix://")),
        "must start with redis://, rediss:// or unix://",
    )
    long_enough = f"must be at least {MIN_SECRET_LENGTH} characters"
    jwt_secret = r.valid("JWT_SECRET", lambda v: len(v) >= MIN_SECRET_LENGTH, long_enough)
    jwt_refresh_secret = r.valid(
        "JWT_REFRESH_SECRET", lambda v: len(v) >= MIN_SECRET_LENGTH, long_enough
    )
    if jwt_secret is not None and jwt_secret == jwt_refresh_secret:
        r.problems.append("JWT_REFRESH_SECRET: must differ from JWT_SECRET")
    generated = jwt_secret is None or jwt_refresh_secret is None
    jwt_secret = jwt_secret or secrets.token_urlsafe(48)
    jwt_refresh_secret = jwt_refresh_secret or secrets.token_urlsafe(48)

    is_region = "is not an AWS region name"
    bucket = r.valid("S3_BUCKET_NAME", _BUCKET.match, "is not a valid S3 bucket name")
    ses_region = r.valid("AWS_SES_REGION", _AWS_REGION.match, is_region)
    aws_region = r.valid("AWS_REGION", _AWS_REGION.match, is_region) or "ap-south-1"
    from_email = r.valid("FROM_EMAIL", _EMAIL.match, "must be an email address")
    key_id, secret_key = r.text("AWS_ACCESS_KEY_ID"), r.text("AWS_SECRET_ACCESS_KEY")
    if (key_id is None) != (secret_key is None) and not production:
        missing = "AWS_SECRET_ACCESS_KEY" if secret_key is None else "AWS_ACCESS_KEY_ID"
        r.problems.append(f"{missing}: required when the other AWS key is set")

    cors_origins = _parse_origins(r, production)
    rollbar_endpoint = r.valid(
        "ROLLBAR_ENDPOINT", _HTTP_URL.match, "must be an http:// or https:// URL"
    )
    if rollbar_endpoint is not None and not rollbar_endpoint.endswith("/"):
        rollbar_endpoint += "/"  # pyrollbar joins `item/` to it: without the slash it drops a part
    logtail_host = r.valid(
        "LOGTAIL_HOST",
        lambda v: _HOST.match(v) or _HTTP_URL.match(v),
        "must be a host name (s123.eu-nbg-2.betterstackdata.com) or an http(s):// URL",
    )
    version = r.text("APP_VERSION") or r.text("FLY_IMAGE_REF") or "dev"

    settings = Settings(
        app_env=app_env,
        port=r.integer("PORT", 4000, 1, 65535),
        log_level=r.choice("LOG_LEVEL", "INFO", get_args(LogLevel)),
        version=version,
        mongodb_uri=mongodb_uri,
        redis_url=redis_url,
        jwt_secret=jwt_secret,
        jwt_refresh_secret=jwt_refresh_secret,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret_key,
        aws_region=aws_region,
        aws_endpoint_url_s3=r.text("AWS_ENDPOINT_URL_S3") or r.text("AWS_ENDPOINT_URL"),
        aws_endpoint_url_ses=r.text("AWS_ENDPOINT_URL_SES") or r.text("AWS_ENDPOINT_URL"),
        s3_bucket_name=bucket,
        aws_ses_region=ses_region,
        from_email=from_email,
        rollbar_token=r.text("ROLLBAR_TOKEN"),
        logtail_token=r.text("LOGTAIL_TOKEN"),
        rollbar_endpoint=rollbar_endpoint,
        logtail_host=logtail_host,
        error_budget_per_day=r.integer(
            "ERROR_BUDGET_PER_DAY", DEFAULT_ERROR_BUDGET_PER_DAY, 0, 5000
        ),
        cors_origins=cors_origins,
        max_upload_bytes=r.integer("MAX_UPLOAD_BYTES", 10 * 1024 * 1024, 1, 1024**3),
        max_json_bytes=r.integer("MAX_JSON_BYTES", 64 * 1024, 1024, 16 * 1024 * 1024),
        allowed_content_types=_parse_content_types(r),
        message_retention_days=r.integer("MESSAGE_RETENTION_DAYS", 90, 1, 3650),
        shutdown_timeout_s=r.integer("SHUTDOWN_TIMEOUT_S", 4, 0, 60),
        health_check_timeout_s=r.number("HEALTH_CHECK_TIMEOUT_S", 1.0, 0.05, 10.0),
        max_in_flight_requests=r.integer("MAX_IN_FLIGHT_REQUESTS", 64, 0, 100_000),
        generated_secrets=generated,
    )
    if r.problems:
        raise SettingsError(r.problems)
    return settings


def _parse_origins(r: _Reader, production: bool) -> tuple[str, ...]:
    raw = r.text("CORS_ORIGINS")
    if raw is None:
        return () if production else ("*",)
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin == "*":
            r.check("CORS_ORIGINS", not production, "'*' is allowed only outside production")
        elif not _ORIGIN.match(origin):
            r.problems.append(
                "CORS_ORIGINS: each entry must be an exact origin like https://app.example.com"
            )
            break
    r.check("CORS_ORIGINS", bool(origins), "must list at least one origin")
    return origins


def _parse_content_types(r: _Reader) -> tuple[str, ...]:
    """ALLOWED_CONTENT_TYPES: comma-separated media types, each one whose bytes the upload
    check recognises (magic numbers); default: all of them."""
    raw = r.text("ALLOWED_CONTENT_TYPES")
    if raw is None:
        return SNIFFABLE_TYPES
    types = tuple(dict.fromkeys(t.strip().lower() for t in raw.split(",") if t.strip()))
    unknown = [t for t in types if t not in SNIFFABLE_TYPES]
    r.check(
        "ALLOWED_CONTENT_TYPES",
        bool(types) and not unknown,
        f"must list one or more of {', '.join(SNIFFABLE_TYPES)}",
    )
    return tuple(t for t in types if t in SNIFFABLE_TYPES) or SNIFFABLE_TYPES
