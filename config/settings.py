"""Settings: read from the environment once, at start, validated, and frozen.

One declaration per variable (pydantic-settings). In production every variable of the
deployment must be present and valid; otherwise `load_settings` raises `SettingsError` naming
every offending variable (never a value). In development and test nothing is required: unset
services run on in-memory adapters and missing secrets are generated (tokens then do not survive
a restart).
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    AliasChoices,
    BeforeValidator,
    Field,
    PlainValidator,
    ValidationError,
)
from pydantic import ValidationInfo as Info
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config.origins import OriginPolicy
from config.origins import problem as origin_problem
from domain.files.sniff import SNIFFABLE_TYPES
from domain.mail.sns import AWS_SNS_HOSTS

AppEnv = Literal["development", "test", "production"]
CookieSameSite = Literal["Lax", "Strict"]
CookiePath = Literal["/api/v1/auth", "/"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
TrustedProxy = Literal["none", "fly", "render"]

MIN_SECRET_LENGTH = 32
DEFAULT_ERROR_BUDGET_PER_DAY = 150  # 31 x 150 = 4,650: a month stays under Rollbar's 5,000

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[A-Za-z]{2,}$")
_AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_HTTP_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?(/\S*)?$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$")
_SNS_TOPIC = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
_HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$")

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


class GeneratedSecret(str):
    """A JWT key made up at start because none was set."""

    __slots__ = ()


def _problem(why: str, variable: str | None = None) -> PydanticCustomError:
    """A problem in our own words (pydantic's would quote the value); `variable` names another
    variable than the one being validated."""
    return PydanticCustomError("settings", why, {"variable": variable} if variable else None)


# --- rules, each one used by the declarations below ---------------------------------------


def _between(low: float, high: float) -> AfterValidator:
    def check[N: float](value: N) -> N:
        if not low <= value <= high:
            raise _problem(f"must be between {low} and {high}")
        return value

    return AfterValidator(check)


def _one_of(options: tuple[str, ...]) -> BeforeValidator:
    def pick(raw: object) -> object:
        for option in options:
            if isinstance(raw, str) and raw.lower() == option.lower():
                return option
        raise _problem(f"must be one of {', '.join(options)}")

    return BeforeValidator(pick)


def _matching(pattern: Callable[[str], object], why: str) -> AfterValidator:
    def check(value: str | None) -> str | None:
        if value is not None and not pattern(value):
            raise _problem(why)
        return value

    return AfterValidator(check)


def _production(info: Info) -> bool:
    return info.data.get("app_env") == "production"


def _required_in_production(value: object, info: Info) -> object:
    if value is None and _production(info):
        raise _problem("required in production")
    return value


def _mongodb_uri(value: str | None) -> str | None:
    """pymongo's own parser, so a URI the driver would refuse (an unescaped `@` or `:` in the
    password) stops the start instead of failing every request. A mongodb+srv:// URI is parsed
    as mongodb://: the SRV scheme makes parse_uri look the host up in DNS."""
    if value is None:
        return None
    if not value.startswith(("mongodb://", "mongodb+srv://")):
        raise _problem("must start with mongodb:// or mongodb+srv://")
    from pymongo.uri_parser import parse_uri

    try:
        parse_uri(value.replace("mongodb+srv://", "mongodb://", 1))
    except Exception:  # the driver's message may quote the URI: never shown
        raise _problem(
            "is not a valid MongoDB URI (escape @ : / % in the user name and password)"
        ) from None
    return value


def _redis_url(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise _problem("must start with redis://, rediss:// or unix://")
    from redis.connection import parse_url

    try:
        parse_url(value)  # type: ignore[no-untyped-call]
    except Exception:
        raise _problem("is not a valid Redis URL (escape @ : / % in the password)") from None
    return value


def _jwt_secret(value: str | None, info: Info) -> str:
    """Set: 32+ characters and the two keys differ. Unset: required in production, generated
    otherwise."""
    if value is None:
        _required_in_production(value, info)
        return GeneratedSecret(secrets.token_urlsafe(48))
    if len(value) < MIN_SECRET_LENGTH:
        raise _problem(f"must be at least {MIN_SECRET_LENGTH} characters")
    if info.field_name == "jwt_refresh_secret" and value == info.data.get("jwt_secret"):
        raise _problem("must differ from JWT_SECRET")
    return value


def _aws_secret_key(value: str | None, info: Info) -> str | None:
    """Both AWS keys or neither (in production both, as every variable)."""
    _required_in_production(value, info)
    key_id = info.data.get("aws_access_key_id")
    if not _production(info) and (key_id is None) != (value is None):
        missing = "AWS_SECRET_ACCESS_KEY" if value is None else "AWS_ACCESS_KEY_ID"
        raise _problem("required when the other AWS key is set", missing)
    return value


def _bind_host(value: str | None, info: Info) -> str:
    """Where the server listens. Unset: every interface in production (Fly's proxy reaches the
    machine from outside it), only this machine otherwise: a development server, with its
    mailbox showing every code, is not for the network unless HOST says so."""
    if value is None:
        return "0.0.0.0" if _production(info) else "127.0.0.1"  # noqa: S104
    with suppress(ValueError):
        return str(ipaddress.ip_address(value))
    if value == "localhost" or _HOST_NAME.match(value):
        return value
    raise _problem("must be an IP address (127.0.0.1, 0.0.0.0, ::) or a host name")


def _relaxed_limits(value: bool, info: Info) -> bool:
    if value and _production(info):
        raise _problem("must not be set in production (it lifts the per-address limits)")
    return value


def _endpoint(value: str | None) -> str | None:
    # pyrollbar joins `item/` to it: without the slash it would drop the last part
    return value if value is None or value.endswith("/") else f"{value}/"


def _origins(raw: str | None, info: Info) -> tuple[str, ...]:
    production = _production(info)
    if raw is None:
        _required_in_production(raw, info)
        return ("*",)
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    if not origins:
        raise _problem("must list at least one origin")
    for origin in origins:
        wrong = origin_problem(origin, production)
        if wrong is not None:
            raise _problem(wrong)
    return origins


_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _rp_id(value: str) -> str:
    """A registrable domain (or `localhost`): no scheme, port, path or IP address; browsers
    refuse an IP as RP ID."""
    labels = value.split(".")
    if (
        value != value.strip().lower()
        or not all(_HOST_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise _problem("must be a domain name such as flowhub.example (no scheme, port or IP)")
    return value


def _webauthn_origins(raw: str | None, info: Info) -> tuple[str, ...]:
    """The front ends' exact origins, each under the RP ID (a browser creates no passkey for
    an RP ID its origin is not under); unset: `http://localhost:<PORT>` (a deployment without
    them starts, and its passkey ceremonies fail in the browser: README "Passkeys")."""
    rp_id = info.data.get("webauthn_rp_id", "localhost")
    if raw is None:
        return (f"http://localhost:{info.data.get('port', 4000)}",)
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    if not origins:
        raise _problem("must list at least one origin")
    for origin in origins:
        scheme, _, rest = origin.partition("://")
        host = rest.split(":", 1)[0]
        if scheme not in ("https", "http") or not host or "/" in rest:
            raise _problem("must list origins such as https://app.flowhub.example")
        if scheme == "http" and host != "localhost":
            raise _problem("must use https (http only for localhost)")
        if host != rp_id and not host.endswith("." + rp_id):
            raise _problem(f"{origin} is not under WEBAUTHN_RP_ID ({rp_id})")
    return origins


def _admin_emails(raw: object) -> object:
    """Comma-separated addresses, normalized as signups' are (domain/auth/model.py)."""
    if raw is None:
        return ()
    if not isinstance(raw, str):
        return raw
    from domain.auth.model import is_valid_email, normalize_email

    emails = tuple(dict.fromkeys(normalize_email(e) for e in raw.split(",") if e.strip()))
    if any(not is_valid_email(e) for e in emails):
        raise _problem("must list email addresses, separated by commas")
    return emails


def _content_types(raw: object) -> object:
    """Comma-separated media types, each one whose bytes the upload check recognises."""
    if not isinstance(raw, str):
        return raw
    types = tuple(dict.fromkeys(t.strip().lower() for t in raw.split(",") if t.strip()))
    if not types or any(t not in SNIFFABLE_TYPES for t in types):
        raise _problem(f"must list one or more of {', '.join(SNIFFABLE_TYPES)}")
    return types


type Optional = str | None


def _host_pattern(value: str) -> str:
    try:
        re.compile(value)
    except re.error:
        raise _problem("must be a regular expression") from None
    return value


def _not_in_production(value: bool, info: Info) -> bool:
    if value and _production(info):
        raise _problem("must not be set in production (it allows plain http)")
    return value


_Prod = AfterValidator(_required_in_production)
_IS_REGION = "is not an AWS region name"
_IS_NAME = "must be lower-case letters, digits and hyphens, starting with a letter"


def _var(*names: str, default: Any = None, secret: bool = False, check: bool = False) -> Any:
    """The variable(s) a field reads: the first of `names` that is set wins."""
    alias = names[0] if len(names) == 1 else AliasChoices(*names)
    return Field(default, validation_alias=alias, repr=not secret, validate_default=check)


class Settings(BaseSettings):
    """`Settings()` reads os.environ; `load_settings(env)` reads a given mapping and reports
    every problem at once. Declaration order matters: a rule reads the fields above it."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    app_env: Annotated[AppEnv, _one_of(get_args(AppEnv))] = _var("APP_ENV", default="development")
    port: Annotated[int, _between(1, 65535)] = _var("PORT", default=4000)
    host: Annotated[str, PlainValidator(_bind_host)] = _var("HOST", check=True)
    relaxed_limits: Annotated[bool, AfterValidator(_relaxed_limits)] = _var(
        "RELAXED_LIMITS", default=False
    )
    log_level: Annotated[LogLevel, _one_of(get_args(LogLevel))] = _var("LOG_LEVEL", default="INFO")
    version: str = _var("APP_VERSION", "FLY_IMAGE_REF", default="dev")
    mongodb_uri: Annotated[Optional, AfterValidator(_mongodb_uri), _Prod] = _var(
        "MONGODB_URI", secret=True, check=True
    )
    redis_url: Annotated[Optional, AfterValidator(_redis_url), _Prod] = _var(
        "REDIS_URL", secret=True, check=True
    )
    jwt_secret: Annotated[str, PlainValidator(_jwt_secret)] = _var(
        "JWT_SECRET", secret=True, check=True
    )
    jwt_refresh_secret: Annotated[str, PlainValidator(_jwt_secret)] = _var(
        "JWT_REFRESH_SECRET", secret=True, check=True
    )
    aws_access_key_id: Annotated[Optional, _Prod] = _var(
        "AWS_ACCESS_KEY_ID", secret=True, check=True
    )
    aws_secret_access_key: Annotated[Optional, AfterValidator(_aws_secret_key)] = _var(
        "AWS_SECRET_ACCESS_KEY", secret=True, check=True
    )
    aws_region: Annotated[str, _matching(_AWS_REGION.match, _IS_REGION)] = _var(
        "AWS_REGION", default="ap-south-1"
    )
    aws_endpoint_url_s3: Optional = _var("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
    aws_endpoint_url_ses: Optional = _var("AWS_ENDPOINT_URL_SES", "AWS_ENDPOINT_URL")
    files_dir: Optional = _var("FILES_DIR")
    # where S3's `public/` prefix is read without a token: a CDN in front of the bucket
    # (README "Files"); unset: the bucket's own URL
    public_files_base_url: Annotated[
        Optional, _matching(_HTTP_URL.match, "must be an http:// or https:// URL")
    ] = _var("PUBLIC_FILES_BASE_URL")
    s3_bucket_name: Annotated[
        Optional, _matching(_BUCKET.match, "is not a valid S3 bucket name"), _Prod
    ] = _var("S3_BUCKET_NAME", check=True)
    aws_ses_region: Annotated[Optional, _matching(_AWS_REGION.match, _IS_REGION), _Prod] = _var(
        "AWS_SES_REGION", check=True
    )
    from_email: Annotated[Optional, _matching(_EMAIL.match, "must be an email address"), _Prod] = (
        _var("FROM_EMAIL", check=True)
    )
    # SES's bounce and complaint notifications through SNS (README "Mail reputation"): the
    # topic they come from (unset: POST /ses/notifications answers 404), the hosts whose
    # certificates and subscription URLs may be fetched (a regex on `host[:port]`; AWS's by
    # default), and plain http for those URLs (tests only: refused in production)
    ses_sns_topic_arn: Annotated[
        Optional, _matching(_SNS_TOPIC.match, "must be an SNS topic ARN (arn:aws:sns:...)")
    ] = _var("SES_SNS_TOPIC_ARN")
    ses_sns_cert_hosts: Annotated[str, AfterValidator(_host_pattern)] = _var(
        "SES_SNS_CERT_HOSTS", default=AWS_SNS_HOSTS
    )
    ses_sns_allow_http: Annotated[bool, AfterValidator(_not_in_production)] = _var(
        "SES_SNS_ALLOW_HTTP", default=False
    )
    rollbar_token: Annotated[Optional, _Prod] = _var("ROLLBAR_TOKEN", secret=True, check=True)
    logtail_token: Annotated[Optional, _Prod] = _var("LOGTAIL_TOKEN", secret=True, check=True)
    rollbar_endpoint: Annotated[
        Optional,
        _matching(_HTTP_URL.match, "must be an http:// or https:// URL"),
        AfterValidator(_endpoint),
    ] = _var("ROLLBAR_ENDPOINT")
    logtail_host: Annotated[
        Optional,
        _matching(
            lambda v: _HOST.match(v) or _HTTP_URL.match(v),
            "must be a host name (s123.eu-nbg-2.betterstackdata.com) or an http(s):// URL",
        ),
    ] = _var("LOGTAIL_HOST")
    error_budget_per_day: Annotated[int, _between(0, 5000)] = _var(
        "ERROR_BUDGET_PER_DAY", default=DEFAULT_ERROR_BUDGET_PER_DAY
    )
    # administrators (README "Administration"): the verified accounts of these addresses
    admin_emails: Annotated[tuple[str, ...], BeforeValidator(_admin_emails)] = _var(
        "ADMIN_EMAILS", check=True
    )
    # the free tiers the admin gauges measure against (README "Free-tier budget")
    redis_commands_per_month: Annotated[int, _between(1, 10**12)] = _var(
        "REDIS_COMMANDS_PER_MONTH", default=500_000
    )
    mongodb_storage_limit_bytes: Annotated[int, _between(1, 1024**5)] = _var(
        "MONGODB_STORAGE_LIMIT_BYTES", default=512 * 1024**2
    )
    s3_storage_limit_bytes: Annotated[int, _between(1, 1024**5)] = _var(
        "S3_STORAGE_LIMIT_BYTES", default=5 * 1024**3
    )
    # Better Stack's 3 GB a month over 30 days (README "Budget figures")
    log_bytes_per_day: Annotated[int, _between(1, 1024**5)] = _var(
        "LOG_BYTES_PER_DAY", default=100_000_000
    )
    # 0: the container's own limit (cgroup memory.max), read at each gauge
    memory_limit_bytes: Annotated[int, _between(0, 1024**4)] = _var("MEMORY_LIMIT_BYTES", default=0)
    cors_origins: Annotated[tuple[str, ...], BeforeValidator(_origins)] = _var(
        "CORS_ORIGINS", check=True
    )
    # the opt-in cookie transport of the refresh token (README "Cookies for server rendering"):
    # Lax when the front end proxies /api/v1/auth or the API is on a subdomain of its site,
    # Strict when nothing but same-site fetches need it; Path "/" lets a Next.js middleware on
    # page routes read it (then named __Host-), "/api/v1/auth" keeps it to the auth routes
    auth_cookie_samesite: Annotated[CookieSameSite, _one_of(get_args(CookieSameSite))] = _var(
        "AUTH_COOKIE_SAMESITE", default="Lax"
    )
    auth_cookie_path: Annotated[CookiePath, _one_of(get_args(CookiePath))] = _var(
        "AUTH_COOKIE_PATH", default="/api/v1/auth"
    )
    # sign-in with a provider (README "Sign in with a provider"): a provider without a client
    # id is off; OIDC_ISSUER names any OpenID provider, found by discovery
    google_client_id: Optional = _var("GOOGLE_CLIENT_ID")
    google_client_secret: Optional = _var("GOOGLE_CLIENT_SECRET", secret=True)
    github_client_id: Optional = _var("GITHUB_CLIENT_ID")
    github_client_secret: Optional = _var("GITHUB_CLIENT_SECRET", secret=True)
    oidc_issuer: Annotated[Optional, _matching(_HTTP_URL.match, "is not an http(s) URL")] = _var(
        "OIDC_ISSUER"
    )
    oidc_name: Annotated[str, _matching(re.compile(r"^[a-z][a-z0-9-]{0,30}$").match, _IS_NAME)] = (
        _var("OIDC_NAME", default="oidc")
    )
    oidc_client_id: Optional = _var("OIDC_CLIENT_ID")
    oidc_client_secret: Optional = _var("OIDC_CLIENT_SECRET", secret=True)
    # the origin providers send the browser back to (`<it>/api/v1/auth/oauth/<name>/callback`,
    # registered with each provider); unset: the origin of the request that started it
    oauth_callback_base_url: Annotated[
        Optional, _matching(_HTTP_URL.match, "is not an http(s) URL")
    ] = _var("OAUTH_CALLBACK_BASE_URL")
    # passkeys (README "Passkeys"): the RP ID they are bound to, and the exact origins of the
    # pages that may use them (checked in every ceremony's client data)
    webauthn_rp_id: Annotated[str, AfterValidator(_rp_id)] = _var(
        "WEBAUTHN_RP_ID", default="localhost"
    )
    webauthn_origins: Annotated[tuple[str, ...], BeforeValidator(_webauthn_origins)] = _var(
        "WEBAUTHN_ORIGINS", check=True
    )
    max_upload_bytes: Annotated[int, _between(1, 1024**3)] = _var(
        "MAX_UPLOAD_BYTES", default=10 * 1024 * 1024
    )
    # a multipart direct upload (POST /files/multipart): 8 MiB parts, at most 512 of them
    # (a completion's part list fits MAX_JSON_BYTES' default)
    multipart_max_bytes: Annotated[int, _between(1, 4 * 1024**3)] = _var(
        "MULTIPART_MAX_BYTES", default=1024**3
    )
    storage_quota_bytes: Annotated[int, _between(0, 1024**5)] = _var(
        "STORAGE_QUOTA_BYTES", default=1024**3
    )
    storage_quota_files: Annotated[int, _between(0, 10_000_000)] = _var(
        "STORAGE_QUOTA_FILES", default=1000
    )
    uploads_per_hour: Annotated[int, _between(1, 100_000)] = _var("UPLOADS_PER_HOUR", default=100)
    code_mails_per_ip_per_hour: Annotated[int, _between(1, 100_000)] = _var(
        "CODE_MAILS_PER_IP_PER_HOUR", default=20
    )
    code_mails_per_hour: Annotated[int, _between(1, 10_000_000)] = _var(
        "CODE_MAILS_PER_HOUR", default=1000
    )
    # Pillow refuses more than 89,478,485 pixels by itself (its decompression-bomb limit)
    thumbnail_max_pixels: Annotated[int, _between(1, 89_478_485)] = _var(
        "THUMBNAIL_MAX_PIXELS", default=25_000_000
    )
    thumbnail_timeout_s: Annotated[float, _between(0.5, 120.0)] = _var(
        "THUMBNAIL_TIMEOUT_S", default=10.0
    )
    thumbnail_concurrency: Annotated[int, _between(0, 8)] = _var("THUMBNAIL_CONCURRENCY", default=1)
    max_json_bytes: Annotated[int, _between(1024, 16 * 1024 * 1024)] = _var(
        "MAX_JSON_BYTES", default=64 * 1024
    )
    message_retention_days: Annotated[int, _between(1, 3650)] = _var(
        "MESSAGE_RETENTION_DAYS", default=30
    )
    message_edit_window_s: Annotated[int, _between(0, 30 * 24 * 3600)] = _var(
        "MESSAGE_EDIT_WINDOW_S", default=15 * 60
    )
    allowed_content_types: Annotated[tuple[str, ...], BeforeValidator(_content_types)] = _var(
        "ALLOWED_CONTENT_TYPES", default=SNIFFABLE_TYPES
    )
    shutdown_timeout_s: Annotated[int, _between(0, 60)] = _var("SHUTDOWN_TIMEOUT_S", default=4)
    health_check_timeout_s: Annotated[float, _between(0.05, 10.0)] = _var(
        "HEALTH_CHECK_TIMEOUT_S", default=1.0
    )
    max_in_flight_requests: Annotated[int, _between(0, 100_000)] = _var(
        "MAX_IN_FLIGHT_REQUESTS", default=64
    )
    # 0: a quarter of MAX_IN_FLIGHT_REQUESTS (entrypoints/http/shedding.py)
    max_in_flight_per_client: Annotated[int, _between(0, 100_000)] = _var(
        "MAX_IN_FLIGHT_PER_CLIENT", default=0
    )
    # sockets one instance accepts per user and per client address, and the events one socket
    # may send per 10 seconds before it is disconnected (entrypoints/realtime/runtime.py)
    sockets_per_user: Annotated[int, _between(1, 100_000)] = _var("SOCKETS_PER_USER", default=20)
    sockets_per_ip: Annotated[int, _between(1, 100_000)] = _var("SOCKETS_PER_IP", default=100)
    socket_events_per_10s: Annotated[int, _between(1, 100_000)] = _var(
        "SOCKET_EVENTS_PER_10S", default=100
    )
    # authenticated requests one user may make a minute on one instance (X-RateLimit-*)
    api_requests_per_minute: Annotated[int, _between(1, 100_000)] = _var(
        "API_REQUESTS_PER_MINUTE", default=120
    )
    # rooms one user may create, and invitations one user may send, an hour (domain/chat)
    rooms_per_hour: Annotated[int, _between(1, 100_000)] = _var("ROOMS_PER_HOUR", default=30)
    invitations_per_hour: Annotated[int, _between(1, 100_000)] = _var(
        "INVITATIONS_PER_HOUR", default=60
    )
    trusted_proxy: Annotated[TrustedProxy, _one_of(get_args(TrustedProxy))] = _var(
        "TRUSTED_PROXY", default="none"
    )
    # this instance among the others (Fly sets it per machine; a random id per process if unset)
    instance_id: Optional = _var("FLY_MACHINE_ID")
    # how often an instance with peers says it is alive (adapters/socketio/cluster.py)
    cluster_alive_s: Annotated[float, _between(0.5, 300.0)] = _var("CLUSTER_ALIVE_S", default=30.0)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], *_sources: PydanticBaseSettingsSource, **_: Any
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (_Environment(settings_cls, os.environ),)

    @property
    def generated_secrets(self) -> bool:
        return isinstance(self.jwt_secret, GeneratedSecret) or isinstance(
            self.jwt_refresh_secret, GeneratedSecret
        )

    @property
    def origins(self) -> OriginPolicy:
        """`CORS_ORIGINS` as the one policy HTTP, Socket.IO and the shedder apply."""
        return OriginPolicy.of(self.cors_origins)

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
    def uses_disk_files(self) -> bool:
        """File contents in FILES_DIR: set, and no S3 configured (S3 wins)."""
        return self.files_dir is not None and not self.uses_s3

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


def env_names(field: FieldInfo) -> tuple[str, ...]:
    """The environment variables a field reads, in order of precedence."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices)
    return (str(alias),)


class _Environment(PydanticBaseSettingsSource):
    """The variables of `env`, stripped; an empty value counts as unset."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self._env = env

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        for name in env_names(field):
            value = self._env.get(name, "").strip()
            if value:
                return value, name, False
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, name, _ = self.get_field_value(field, field_name)
            if value is not None:
                values[name] = value
        return values


_WHY = {
    "int_parsing": "must be an integer",
    "float_parsing": "must be a number",
    "bool_parsing": "must be 1 or 0 (true or false)",
}


def load_settings(env: Mapping[str, str]) -> Settings:
    """Read and validate the whole environment; raise SettingsError listing every problem."""
    try:
        # `_build_sources` is BaseSettings' own argument; mypy sees only the fields' ones
        return Settings(_build_sources=((_Environment(Settings, env),), {}))  # type: ignore[call-arg]
    except ValidationError as error:
        problems = []
        for e in error.errors(include_url=False, include_input=False, include_context=True):
            loc = str(e["loc"][0])  # the variable; the field's name when its default failed
            field = Settings.model_fields.get(loc)
            name = (e.get("ctx") or {}).get("variable") or (env_names(field)[0] if field else loc)
            why = e["msg"] if e["type"] == "settings" else _WHY.get(e["type"], "is not valid")
            problems.append(f"{name}: {why}")
        raise SettingsError(problems) from None
