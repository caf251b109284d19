"""Settings from SITSLAB_* variables: what an operator may write, and what is refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend.config import DEV_SECRET, Settings


def test_the_log_level_is_read_in_either_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITSLAB_LOG_LEVEL", "warning")
    assert Settings().log_level == "WARNING"


def test_an_unknown_log_level_names_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITSLAB_LOG_LEVEL", "loud")
    with pytest.raises(ValidationError, match="'DEBUG', 'INFO', 'WARNING' or 'ERROR'"):
        Settings()


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITSLAB_ENV", "prod")
    monkeypatch.setenv("SITSLAB_SECRET_KEY", DEV_SECRET)
    with pytest.raises(ValidationError, match="SITSLAB_SECRET_KEY must be set"):
        Settings()
