"""MESSAGE_RETENTION_DAYS: how long chat messages are kept."""

from __future__ import annotations

import pytest

from config.settings import SettingsError, load_settings

pytestmark = pytest.mark.unit


def test_messages_are_kept_90_days_unless_told_otherwise() -> None:
    assert load_settings({}).message_retention_days == 90
    assert load_settings({"MESSAGE_RETENTION_DAYS": "30"}).message_retention_days == 30


@pytest.mark.parametrize("value", ["0", "-1", "ninety", "4000"])
def test_a_retention_that_is_not_a_sane_number_of_days_is_refused(value: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({"MESSAGE_RETENTION_DAYS": value})
    assert any(p.startswith("MESSAGE_RETENTION_DAYS") for p in error.value.problems)
