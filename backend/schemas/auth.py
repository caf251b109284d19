"""Login and the current user."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LoginIn(BaseModel):
    """Credentials posted to /api/v1/auth/login."""

    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)


class UserOut(BaseModel):
    """A user as the API shows it (never the hash)."""

    id: int
    username: str
    role: str


class SessionOut(UserOut):
    """The logged-in user with the CSRF token to send on mutating requests."""

    csrf_token: str
