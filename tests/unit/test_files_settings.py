"""ALLOWED_CONTENT_TYPES: only types whose bytes the upload check recognises."""

from __future__ import annotations

import pytest

from config.settings import SettingsError, load_settings

pytestmark = pytest.mark.unit


def test_allowed_content_types_default_to_every_type_whose_bytes_are_checked() -> None:
    assert load_settings({}).allowed_content_types == (
        "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"
    )  # fmt: skip
    chosen = load_settings({"ALLOWED_CONTENT_TYPES": " Image/PNG, application/pdf,image/png "})
    assert chosen.allowed_content_types == ("image/png", "application/pdf")


@pytest.mark.parametrize("value", ["image/svg+xml", "image/png,text/html", ",", "*/*"])
def test_allowed_content_types_must_be_types_whose_bytes_are_checked(value: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({"ALLOWED_CONTENT_TYPES": value})
    assert any(p.startswith("ALLOWED_CONTENT_TYPES:") for p in error.value.problems)
    assert value not in str(error.value) or value == ","
