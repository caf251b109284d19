"""All settings of sitslab, read from SITSLAB_* environment variables (and a .env file)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me"


class Settings(BaseSettings):
    """One place for every knob, so that the same code runs embedded or in production."""

    model_config = SettingsConfigDict(env_prefix="SITSLAB_", env_file=".env", extra="ignore")

    env: str = Field("dev", description="dev, test or prod; prod refuses the default secret")
    data_dir: Path = Field(Path("./data"), description="patches, labels, runs, maps, exports")
    database_url: str = Field("", description="SQLAlchemy URL; default: SQLite in data_dir")
    secret_key: str = Field(DEV_SECRET, description="signs the session cookie")
    host: str = "127.0.0.1"
    port: int = 8000
    session_max_age_s: int = 14 * 24 * 3600
    cookie_secure: bool = False
    embedded_worker: bool = Field(True, description="serve also starts one worker process")
    worker_poll_s: float = 1.0
    lease_s: float = Field(30.0, description="a job's lease; renewed by heartbeats")
    heartbeat_s: float = 5.0
    max_attempts: int = 3
    cancel_grace_s: float = 20.0
    job_cpu_threads: int | None = Field(
        None,
        ge=1,
        description="CPU threads each job's torch and forest use; unset: every core. Set it "
        "where other processes share the cores: torch's one thread per core then waits on "
        "the busy ones",
    )
    demo_patches: int = 100
    prefetch: int = 3
    gdal_cachemax_mb: int = Field(256, description="GDAL block cache for serving map tiles")
    tile_cache_items: int = Field(4096, description="rendered map tiles kept in memory")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="the worker's log on stderr: each job started and ended, at INFO"
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _any_case_level(cls, value: object) -> object:
        """``info`` as uvicorn's ``--log-level`` spells it, or ``INFO`` as logging's."""
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _refuse_dev_secret_in_prod(self) -> Settings:
        if self.env == "prod" and self.secret_key == DEV_SECRET:
            raise ValueError("SITSLAB_SECRET_KEY must be set in production")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or a SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'sitslab.db').resolve()}"

    def path(self, relative: str | Path) -> Path:
        """Absolute path of a file the database refers to (always relative to data_dir)."""
        return (self.data_dir / relative).resolve()


class SettingsError(ValueError):
    """SITSLAB_* variables that cannot be read, one line each, so that a command stops
    with what to change rather than pydantic's traceback."""

    @classmethod
    def from_validation(cls, error: ValidationError) -> SettingsError:
        """Name each variable as the operator writes it; never echo its value (a secret or
        a database password may be the one at fault)."""
        lines = []
        for problem in error.errors():
            message = problem["msg"].removeprefix("Value error, ")
            field = problem["loc"][0] if problem["loc"] else None
            lines.append(f"SITSLAB_{str(field).upper()}: {message}" if field else message)
        return cls("invalid settings:\n  " + "\n  ".join(lines))


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache after changing the environment)."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError.from_validation(error) from None


def new_token() -> str:
    """A random URL-safe token (sessions, CSRF, leases)."""
    return secrets.token_urlsafe(24)
