"""The dashboard: what is in the database and where to go next."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from backend.deps import CurrentUser, SessionDep
from backend.models import Campaign, Dataset, Role
from backend.services.campaigns import campaign_progress
from backend.services.datasets import dataset_out
from backend.services.jobs import list_jobs
from backend.services.review_queue import queue_view
from backend.services.runs import list_runs
from backend.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    """Datasets with their validation progress, and each active campaign's per annotator
    (annotators see their own row only)."""
    datasets = [dataset_out(session=session, dataset=d) for d in session.scalars(select(Dataset))]
    campaigns = [
        campaign_progress(session=session, campaign=c)
        for c in session.scalars(
            select(Campaign).where(Campaign.active.is_(True)).order_by(Campaign.id.desc())
        )
    ]
    if not user.has_role(Role.reviewer):
        for c in campaigns:
            c["annotators"] = [a for a in c["annotators"] if a["user_id"] == user.id]
        campaigns = [c for c in campaigns if c["annotators"]]
    queue = queue_view(session=session, user_id=user.id, prefetch=0)
    return render(
        request,
        "dashboard.html",
        user,
        datasets=datasets,
        campaigns=campaigns,
        to_review=queue.remaining,
        jobs=list_jobs(session=session, limit=5) if user.has_role(Role.reviewer) else [],
        runs=list_runs(session=session, limit=5),
    )
