"""Creating and authenticating users."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth import hash_password, verify_password
from backend.errors import Conflict, Invalid
from backend.models import Role, User


def create_user(*, session: Session, username: str, role: str, password: str) -> User:
    """Add a user; refuses an unknown role, a short password or a taken name."""
    if role not in Role.__members__:
        raise Invalid(f"Unknown role {role!r}: use one of {', '.join(Role.__members__)}.")
    if len(password) < 8:
        raise Invalid("The password must have at least 8 characters.")
    if not username.strip() or len(username) > 80:
        raise Invalid("The user name must have 1 to 80 characters.")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"A user named {username!r} exists already.")
    user = User(username=username, role=role, password_hash=hash_password(password))
    session.add(user)
    session.commit()
    return user


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not verify_password(user.password_hash, password):
        return None
    return user
