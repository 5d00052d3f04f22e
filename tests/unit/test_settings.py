from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import PRODUCTION_REQUIRED, SettingsError, load_settings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SECRET_A = "a" * 40
SECRET_B = "b" * 40


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        "APP_ENV": "production",
        "MONGODB_URI": "mongodb+srv://user:pw@cluster0.example.mongodb.net/flowhub",
        "REDIS_URL": "rediss://default:pw@example.upstash.io:6379",
        "JWT_SECRET": SECRET_A,
        "JWT_REFRESH_SECRET": SECRET_B,
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG",
        "S3_BUCKET_NAME": "flowhub-files",
        "AWS_SES_REGION": "ap-south-1",
        "FROM_EMAIL": "no-reply@flowhub.example",
        "ROLLBAR_TOKEN": "rollbar-token",
        "LOGTAIL_TOKEN": "logtail-token",
        "CORS_ORIGINS": "https://app.flowhub.example,https://v2.flowhub.example",
    }
    env.update(overrides)
    return env


def test_development_needs_nothing_and_runs_on_memory_adapters() -> None:
    settings = load_settings({})
    assert settings.app_env == "development"
    assert settings.port == 4000
    assert not (settings.uses_mongo or settings.uses_redis or settings.uses_s3 or settings.uses_ses)
    assert settings.generated_secrets
    assert len(settings.jwt_secret) >= 32
    assert settings.jwt_secret != settings.jwt_refresh_secret
    assert settings.cors_origins == ("*",)


def test_generated_secrets_differ_between_starts() -> None:
    assert load_settings({}).jwt_secret != load_settings({}).jwt_secret


def test_production_with_everything_set_uses_every_real_adapter() -> None:
    settings = load_settings(production_env())
    assert settings.is_production
    assert settings.uses_mongo and settings.uses_redis and settings.uses_s3 and settings.uses_ses
    assert not settings.generated_secrets
    assert settings.cors_origins == ("https://app.flowhub.example", "https://v2.flowhub.example")


def test_production_without_variables_names_every_missing_one() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"APP_ENV": "production"})
    message = str(caught.value)
    for name in PRODUCTION_REQUIRED:
        assert f"{name}: required in production" in message
    assert len(caught.value.problems) == len(PRODUCTION_REQUIRED)


def test_problems_are_all_reported_at_once_and_never_show_values() -> None:
    env = production_env(
        MONGODB_URI="http://not-mongo.example/very-secret-path",
        JWT_SECRET="short-secret-value",
        PORT="eighty",
        FROM_EMAIL="not-an-email",
        CORS_ORIGINS="*",
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    message = str(caught.value)
    for name in ("MONGODB_URI", "JWT_SECRET", "PORT", "FROM_EMAIL", "CORS_ORIGINS"):
        assert f"{name}:" in message
    for value in ("very-secret-path", "short-secret-value", "eighty", "not-an-email"):
        assert value not in message


@pytest.mark.parametrize(
    ("name", "value", "why"),
    [
        ("PORT", "0", "between 1 and 65535"),
        ("PORT", "70000", "between 1 and 65535"),
        ("APP_ENV", "staging", "one of development, test, production"),
        ("REDIS_URL", "http://localhost:6379", "redis://"),
        ("S3_BUCKET_NAME", "Bad_Bucket", "bucket name"),
        ("AWS_SES_REGION", "mumbai", "region"),
        ("CORS_ORIGINS", "https://app.example.com/path", "exact origin"),
        ("JWT_REFRESH_SECRET", SECRET_A, "differ from JWT_SECRET"),
        ("LOG_LEVEL", "LOUD", "one of"),
        ("SES_SNS_TOPIC_ARN", "flowhub-ses", "SNS topic ARN"),
        ("SES_SNS_CERT_HOSTS", "sns\\.(", "regular expression"),
        ("SES_SNS_ALLOW_HTTP", "1", "must not be set in production"),
    ],
)
def test_malformed_values_are_rejected(name: str, value: str, why: str) -> None:
    env = production_env(**{name: value})
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    assert any(p.startswith(f"{name}:") and why in p for p in caught.value.problems), caught.value


def test_wildcard_cors_is_allowed_outside_production() -> None:
    assert load_settings({"CORS_ORIGINS": "*"}).cors_origins == ("*",)
    assert load_settings(
        {"APP_ENV": "test", "CORS_ORIGINS": "http://localhost:5173/"}
    ).cors_origins == ("http://localhost:5173",)


def test_one_aws_key_without_the_other_is_an_error() -> None:
    with pytest.raises(SettingsError, match="AWS_SECRET_ACCESS_KEY"):
        load_settings({"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"})


def test_services_turn_real_one_by_one_when_configured() -> None:
    settings = load_settings({"REDIS_URL": "redis://127.0.0.1:6390/0"})
    assert settings.uses_redis and not settings.uses_mongo
    storage = load_settings(
        {
            "S3_BUCKET_NAME": "local-bucket",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
        }
    )
    assert storage.uses_s3 and not storage.uses_ses
    assert storage.aws_endpoint_url_s3 == storage.aws_endpoint_url_ses == "http://127.0.0.1:5000"


def test_service_specific_endpoint_wins_over_the_general_one() -> None:
    settings = load_settings(
        {
            "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
            "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000",
        }
    )
    assert settings.aws_endpoint_url_s3 == "http://127.0.0.1:9000"
    assert settings.aws_endpoint_url_ses == "http://127.0.0.1:5000"


def test_secrets_are_not_in_the_settings_repr() -> None:
    text = repr(load_settings(production_env()))
    for secret in (
        SECRET_A,
        SECRET_B,
        "wJalrXUtnFEMI/K7MDENG",
        "rollbar-token",
        "logtail-token",
        ":pw@",
    ):
        assert secret not in text


def test_telemetry_endpoints_and_the_error_budget_are_read_and_checked() -> None:
    settings = load_settings(
        {
            "ROLLBAR_TOKEN": "r",
            "ROLLBAR_ENDPOINT": "http://127.0.0.1:9000/api/1",
            "LOGTAIL_TOKEN": "l",
            "LOGTAIL_HOST": "s1234.eu-nbg-2.betterstackdata.com",
            "ERROR_BUDGET_PER_DAY": "40",
        }
    )
    assert settings.uses_rollbar and settings.uses_logtail
    assert settings.rollbar_endpoint == "http://127.0.0.1:9000/api/1/"  # pyrollbar needs the /
    assert settings.logtail_host == "s1234.eu-nbg-2.betterstackdata.com"
    assert settings.error_budget_per_day == 40

    defaults = load_settings({})
    assert not (defaults.uses_rollbar or defaults.uses_logtail)
    assert defaults.error_budget_per_day == 150
    assert defaults.rollbar_endpoint is None and defaults.logtail_host is None


def test_malformed_telemetry_settings_are_named() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(
            {
                "ROLLBAR_ENDPOINT": "ftp://rollbar",
                "LOGTAIL_HOST": "not a host",
                "ERROR_BUDGET_PER_DAY": "9000",
            }
        )
    message = str(caught.value)
    for name in ("ROLLBAR_ENDPOINT", "LOGTAIL_HOST", "ERROR_BUDGET_PER_DAY"):
        assert name in message


@pytest.mark.parametrize(
    "uri",
    [
        "mongodb://flowhub:p@ss@cluster0.example.net/flowhub",
        "mongodb+srv://flowhub:p@ss@cluster0.example.mongodb.net/flowhub",
        "mongodb://flowhub:pass:word@cluster0.example.net/flowhub",
    ],
)
def test_a_mongodb_uri_the_driver_would_refuse_is_named_without_its_value(uri: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(production_env(MONGODB_URI=uri))
    [problem] = caught.value.problems
    assert problem.startswith("MONGODB_URI: is not a valid MongoDB URI")
    for part in ("p@ss", "pass:word", "flowhub:", "cluster0"):
        assert part not in str(caught.value)


def test_a_redis_url_the_driver_would_refuse_is_named_without_its_value() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"REDIS_URL": "rediss://default:s3cret@example.upstash.io:port/0"})
    [problem] = caught.value.problems
    assert problem.startswith("REDIS_URL: is not a valid Redis URL")
    assert "s3cret" not in str(caught.value)


def test_an_unescaped_at_in_mongodb_uri_stops_the_start_with_exit_78(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from entrypoints.__main__ import main

    monkeypatch.setattr(os, "environ", {"MONGODB_URI": "mongodb://user:p@ss@localhost/db"})
    assert main() == 78
    error = capsys.readouterr().err
    assert "MONGODB_URI: is not a valid MongoDB URI" in error
    assert "p@ss" not in error


def test_development_loads_without_importing_the_drivers() -> None:
    code = (
        "import sys; from config.settings import load_settings; load_settings({}); "
        "print(sorted({'pymongo', 'redis'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_sns_notifications_accept_only_aws_hosts_over_https_by_default() -> None:
    settings = load_settings(
        production_env(SES_SNS_TOPIC_ARN="arn:aws:sns:ap-south-1:123456789012:flowhub-ses")
    )
    assert settings.ses_sns_topic_arn == "arn:aws:sns:ap-south-1:123456789012:flowhub-ses"
    assert not settings.ses_sns_allow_http
    from config.container import build_container

    policy = build_container(settings).adapters.sns_policy()
    assert policy.allowed_url(
        "https://sns.ap-south-1.amazonaws.com/SimpleNotificationService-x.pem", suffix=".pem"
    )
    for url in (
        "http://sns.ap-south-1.amazonaws.com/x.pem",
        "https://sns.ap-south-1.amazonaws.com:8443/x.pem",
        "https://sns.ap-south-1.amazonaws.com.evil.example/x.pem",
        "https://evil.example/sns.ap-south-1.amazonaws.com/x.pem",
        "https://sns.ap-south-1.amazonaws.com@evil.example/x.pem",
        "https://evil.example#@sns.ap-south-1.amazonaws.com/x.pem",
        "https://127.0.0.1/x.pem",
    ):
        assert not policy.allowed_url(url, suffix=".pem"), url


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"WEBAUTHN_RP_ID": "127.0.0.1"}, "WEBAUTHN_RP_ID"),
        ({"WEBAUTHN_RP_ID": "https://flowhub.example"}, "WEBAUTHN_RP_ID"),
        (
            {"WEBAUTHN_RP_ID": "flowhub.example", "WEBAUTHN_ORIGINS": "https://evil.example"},
            "not under WEBAUTHN_RP_ID",
        ),
        (
            {"WEBAUTHN_RP_ID": "flowhub.example", "WEBAUTHN_ORIGINS": "http://app.flowhub.example"},
            "https",
        ),
    ],
)
def test_passkey_settings_refuse_what_browsers_would(env: dict[str, str], problem: str) -> None:
    from config.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match=problem):
        load_settings({"APP_ENV": "test", **env})


def test_passkey_origins_default_to_localhost_and_take_subdomains() -> None:
    from config.settings import load_settings

    assert load_settings({"APP_ENV": "test", "PORT": "4100"}).webauthn_origins == (
        "http://localhost:4100",
    )
    chosen = load_settings(
        {
            "APP_ENV": "test",
            "WEBAUTHN_RP_ID": "flowhub.example",
            "WEBAUTHN_ORIGINS": "https://app.flowhub.example, https://flowhub.example/",
        }
    )
    assert chosen.webauthn_origins == ("https://app.flowhub.example", "https://flowhub.example")
