"""Settings from SITSLAB_* variables: what an operator may write, and what is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from backend.config import DEV_SECRET, Settings, SettingsError, get_settings


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


def test_get_settings_names_each_unreadable_variable_and_not_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("SITSLAB_PORT", "eighty")
    monkeypatch.setenv("SITSLAB_ENV", "prod")
    monkeypatch.setenv("SITSLAB_SECRET_KEY", DEV_SECRET)
    with pytest.raises(SettingsError) as raised:
        get_settings()
    message = str(raised.value)
    assert "SITSLAB_PORT: Input should be a valid integer" in message
    assert "eighty" not in message
    get_settings.cache_clear()
    monkeypatch.setenv("SITSLAB_PORT", "8000")
    with pytest.raises(SettingsError, match="SITSLAB_SECRET_KEY must be set in production"):
        get_settings()
    get_settings.cache_clear()


def test_a_command_stops_on_a_bad_variable_with_its_name_not_a_traceback(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "SITSLAB_LOG_LEVEL": "loud", "SITSLAB_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "users", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "sitslab: invalid settings:\n  SITSLAB_LOG_LEVEL: Input should be" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
