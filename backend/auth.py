"""Passwords, the session cookie and CSRF protection.

The session is a signed cookie (Starlette's SessionMiddleware: HttpOnly, SameSite=Lax)
holding the user id and a CSRF token. Every mutating request must echo that token in the
`X-CSRF-Token` header (fetch calls) or a `csrf_token` form field (plain forms), so that a
page of another site cannot act with the user's cookie.
"""

from __future__ import annotations

import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request

from backend.config import new_token

_hasher = PasswordHasher()
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; never raises on a malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = new_token()
        request.session["csrf"] = token
    return token


def login_session(request: Request, user_id: int) -> None:
    """Start a fresh session for the user (a new CSRF token too: no fixation)."""
    request.session.clear()
    request.session["uid"] = user_id
    request.session["csrf"] = new_token()


async def csrf_ok(request: Request) -> bool:
    """True for safe methods, or when the request carries the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return True
    expected = request.session.get("csrf")
    if not expected:
        return False
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get(CSRF_FIELD)
    return isinstance(sent, str) and hmac.compare_digest(sent, expected)
