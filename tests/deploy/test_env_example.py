""".env.example lists every variable the settings read, each with its meaning, and loaded as it
is it is a valid development environment with the defaults."""

from __future__ import annotations

import re

import pytest

from config.settings import PRODUCTION_REQUIRED, Settings, env_names, load_settings
from tests.deploy.files import SECRETS
from tests.support.processes import ROOT

pytestmark = pytest.mark.deploy

EXAMPLE = ROOT / ".env.example"
ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")


def _read_by_settings() -> set[str]:
    names = {name for field in Settings.model_fields.values() for name in env_names(field)}
    assert len(names) > 20, "the settings model no longer lists what load_settings reads"
    return names


def _example() -> list[tuple[str, str, str]]:
    """(name, value, its section's heading and the comment above it); variables on consecutive
    lines share the comment above the first."""
    entries: list[tuple[str, str, str]] = []
    section = ""
    comment: list[str] = []
    after_assignment = False
    for line in EXAMPLE.read_text().splitlines():
        match = ASSIGNMENT.match(line)
        if match:
            entries.append((match.group(1), match.group(2), " ".join([section, *comment])))
            after_assignment = True
        elif line.startswith("# ----"):
            section, comment, after_assignment = line, [], False
        elif line.startswith("#"):
            comment = [line] if after_assignment else [*comment, line]
            after_assignment = False
        else:
            comment, after_assignment = [], False
    return entries


def test_every_variable_the_settings_read_is_in_the_example() -> None:
    listed = {name for name, _, _ in _example()}
    missing = _read_by_settings() - listed
    assert not missing, f".env.example lacks {sorted(missing)}"
    assert not listed - _read_by_settings(), "the example lists a variable nothing reads"


def test_every_variable_has_a_meaning_above_it() -> None:
    for name, _, comment in _example():
        own = comment.split("----")[-1]
        assert own.strip("# "), f"{name} has no comment"


def test_production_variables_are_marked_and_secrets_hold_no_value() -> None:
    for name, value, comment in _example():
        if name in PRODUCTION_REQUIRED:
            assert "[prod]" in comment, f"{name} is required in production: mark it [prod]"
        if name in SECRETS:
            assert value == "", f"{name} must stay empty in the example"


def test_the_example_as_it_is_is_the_default_development_environment() -> None:
    env = {name: value for name, value, _ in _example()}
    settings = load_settings(env)
    defaults = load_settings({})
    assert settings.app_env == "development"
    for field in Settings.model_fields:
        if field not in {"jwt_secret", "jwt_refresh_secret"}:  # generated per start
            assert getattr(settings, field) == getattr(defaults, field), field
    assert settings.generated_secrets == defaults.generated_secrets
