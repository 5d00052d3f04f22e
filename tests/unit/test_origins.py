"""CORS_ORIGINS patterns for preview deployments: the whole origin matches or nothing does,
a `*` never crosses a dot, and production refuses what would trust strangers."""

from __future__ import annotations

import pytest

from config.origins import OriginPolicy, problem
from config.settings import SettingsError, load_settings

pytestmark = pytest.mark.unit

PREVIEWS = "https://myapp-*-team.vercel.app"
POLICY = OriginPolicy.of([PREVIEWS, "https://app.flowhub.example"])


@pytest.mark.parametrize(
    "origin",
    [
        "https://myapp-git-main-team.vercel.app",
        "https://myapp-3kd9x2a1b-team.vercel.app",
        "https://MYAPP-abc-TEAM.vercel.app",  # hosts are case-insensitive
        "https://app.flowhub.example",
    ],
)
def test_a_matching_origin_is_allowed(origin: str) -> None:
    assert POLICY.allows(origin)


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.com/?x=.vercel.app",
        "https://evil.com/?x=myapp-a-team.vercel.app",
        "https://myapp-a-team.vercel.app.evil.com",
        "https://myapp-a-team.vercel.app/",
        "https://myapp-a-team.vercel.app\n",
        "https://myapp-a-team.vercel.app:8443",
        "http://myapp-a-team.vercel.app",
        "https://evilmyapp-a-team.vercel.app",
        "https://myapp-a.evil-team.vercel.app",  # a dot inside the star
        "https://myapp--team.vercel.app",  # the star stands for at least one character
        "https://myapp-a-team.vercel.app@evil.com",
        "https://myapp-a-team-vercel.app",
        "https://app.flowhub.example.evil.com",
        "null",
        "",
        None,
    ],
)
def test_a_look_alike_is_refused(origin: str | None) -> None:
    assert not POLICY.allows(origin)


def test_quart_cors_gets_the_same_anchored_patterns() -> None:
    """quart-cors matches with re.match (anchored at the start only): the compiled pattern
    must end itself."""
    given = POLICY.for_quart_cors()
    assert isinstance(given, list)
    [pattern] = [p for p in given if not isinstance(p, str)]
    assert pattern.match("https://myapp-a-team.vercel.app")
    assert not pattern.match("https://myapp-a-team.vercel.app.evil.com")
    assert not pattern.match("https://myapp-a-team.vercel.app\n")


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("*", "only outside production"),
        ("https://*.vercel.app", "every deployment on a shared host"),
        ("https://*.github.io", "every deployment on a shared host"),
        ("https://*.com", "inside one domain"),
        ("https://app.*.example.com", "leftmost host label"),
        ("https://app-**.example.com", "leftmost host label"),
        ("https://*example.com/path", "leftmost host label"),
        ("*://app.example.com", "leftmost host label"),
        ("https://app.example.com:*", "leftmost host label"),
        ("https://app.example.com/path", "exact origin"),
    ],
)
def test_production_refuses_what_is_broader_than_one_domain(entry: str, why: str) -> None:
    wrong = problem(entry, production=True)
    assert wrong is not None and why in wrong


@pytest.mark.parametrize(
    "entry",
    [PREVIEWS, "https://*.flowhub.example", "https://preview-*.flowhub.example:8443"],
)
def test_patterns_within_one_domain_are_accepted(entry: str) -> None:
    assert problem(entry, production=True) is None


def test_settings_check_every_entry_and_name_no_value() -> None:
    settings = load_settings({"CORS_ORIGINS": f"{PREVIEWS}, https://app.flowhub.example"})
    assert settings.origins.allows("https://myapp-x1-team.vercel.app")
    with pytest.raises(SettingsError) as caught:
        load_settings({"CORS_ORIGINS": "https://*.vercel.app"})
    assert "CORS_ORIGINS:" in str(caught.value)
