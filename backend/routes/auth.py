"""Login, logout and who am I; the login page posts to the same JSON API."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from backend.auth import login_session
from backend.deps import CurrentUser, OptionalUser, SessionDep
from backend.schemas.auth import LoginIn, SessionOut
from backend.services.users import authenticate
from backend.templating import render

router = APIRouter(tags=["auth"])


@router.post("/api/v1/auth/login")
def login(body: LoginIn, request: Request, session: SessionDep) -> SessionOut:
    """Check the credentials and set the session cookie."""
    user = authenticate(session=session, username=body.username, password=body.password)
    if user is None:
        raise HTTPException(401, "Wrong user name or password.")
    login_session(request, user.id)
    return SessionOut(
        id=user.id, username=user.username, role=user.role, csrf_token=request.session["csrf"]
    )


@router.post("/api/v1/auth/logout")
def logout(request: Request) -> dict[str, str]:
    """Forget the session."""
    request.session.clear()
    return {"status": "logged out"}


@router.get("/api/v1/auth/me")
def me(request: Request, user: CurrentUser) -> SessionOut:
    """The logged-in user and the CSRF token."""
    return SessionOut(
        id=user.id, username=user.username, role=user.role, csrf_token=request.session["csrf"]
    )


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, user: OptionalUser, next: str = "/") -> HTMLResponse:
    """The login form (its script posts to /api/v1/auth/login)."""
    safe_next = next if next.startswith("/") and not next.startswith("//") else "/"
    if user is not None:
        return RedirectResponse(safe_next, status_code=303)
    return render(request, "login.html", None, next=safe_next)
