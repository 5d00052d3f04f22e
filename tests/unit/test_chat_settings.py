"""MESSAGE_RETENTION_DAYS: how long chat messages are kept."""

from __future__ import annotations

import pytest

from config.settings import SettingsError, load_settings

pytestmark = pytest.mark.unit


def test_messages_are_kept_30_days_unless_told_otherwise() -> None:
    # 30: what keeps the budget benchmark's 1,000-user month inside 512 MB (redis-budget.md)
    assert load_settings({}).message_retention_days == 30
    assert load_settings({"MESSAGE_RETENTION_DAYS": "90"}).message_retention_days == 90


@pytest.mark.parametrize("value", ["0", "-1", "ninety", "4000"])
def test_a_retention_that_is_not_a_sane_number_of_days_is_refused(value: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({"MESSAGE_RETENTION_DAYS": value})
    assert any(p.startswith("MESSAGE_RETENTION_DAYS") for p in error.value.problems)
