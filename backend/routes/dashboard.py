"""The dashboard: what is in the database and where to go next."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from backend.deps import CurrentUser, SessionDep
from backend.models import Dataset
from backend.services.datasets import dataset_out
from backend.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    """Datasets with their validation progress."""
    datasets = [dataset_out(session=session, dataset=d) for d in session.scalars(select(Dataset))]
    return render(request, "dashboard.html", user, datasets=datasets)
