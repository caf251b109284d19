"""FastAPI dependencies shared by the routers: session, current user, roles, CSRF."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from backend.auth import csrf_ok
from backend.config import Settings, get_settings
from backend.db import get_db
from backend.models import Role, User

SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


LOG_IN_FIRST = "Log in first: POST /api/v1/auth/login or open /login."


def session_user(session: Session, uid: int | None) -> User | None:
    """The active user of a session's ``uid``, or None."""
    if uid is None:
        return None
    user = session.get(User, uid)
    return user if user is not None and user.active else None


def optional_user(request: Request, session: SessionDep) -> User | None:
    """The logged-in user, or None."""
    return session_user(session, request.session.get("uid"))


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    """The logged-in user; 401 otherwise."""
    if user is None:
        raise HTTPException(401, LOG_IN_FIRST)
    return user


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]


async def check_csrf(request: Request) -> None:
    """Refuse a mutating request without the session's CSRF token."""
    if not await csrf_ok(request):
        raise HTTPException(
            403, "Missing or wrong CSRF token: send the X-CSRF-Token header from the page."
        )


def require_role(role: Role):  # noqa: ANN201
    """A dependency that lets through users with `role` or above."""

    def _check(user: CurrentUser) -> User:
        if not user.has_role(role):
            raise HTTPException(403, f"This needs the {role.value} role; you are {user.role}.")
        return user

    return _check


ReviewerUser = Annotated[User, Depends(require_role(Role.reviewer))]
AdminUser = Annotated[User, Depends(require_role(Role.admin))]
