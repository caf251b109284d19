"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from backend.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/api/v1/health")
def health(session: SessionDep) -> dict[str, str]:
    """Ok when the app answers and the database is reachable."""
    session.execute(text("SELECT 1"))
    return {"status": "ok", "database": session.get_bind().dialect.name}
