"""Jinja2 templates shared by the page routes, with the CSRF token and user in context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from backend.auth import csrf_token
from backend.models import User

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"
templates = Jinja2Templates(directory=FRONTEND / "templates")


def p_value(p: float) -> str:
    """A p-value to three significant digits; one that underflowed to 0 as "< 1e-300"."""
    return f"{p:.3g}" if p > 0 else "< 1e-300"


templates.env.filters["p_value"] = p_value


def render(request: Request, name: str, user: User | None, **context: Any) -> HTMLResponse:
    """Render a page with what every layout needs (user, CSRF token for the JS client)."""
    return templates.TemplateResponse(
        request, name, {"user": user, "csrf_token": csrf_token(request), **context}
    )
