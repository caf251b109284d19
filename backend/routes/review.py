"""The review queue: the review page, the next patch to review, and decisions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from backend.deps import CurrentUser, SessionDep, SettingsDep, check_csrf
from backend.errors import Invalid
from backend.models import Patch
from backend.schemas.decisions import DecisionIn, DecisionResult, NextOut, QueueEntry
from backend.services import decisions, review_queue
from backend.services.history import decision_out
from backend.services.labels import get_patch
from backend.services.patch_view import patch_detail
from backend.templating import render

router = APIRouter(prefix="/api/v1", tags=["review"])
pages = APIRouter(include_in_schema=False)


def _next_out(view: review_queue.QueueView) -> NextOut:
    def entry(item: review_queue.QueueItem) -> QueueEntry:
        return QueueEntry(
            patch_id=item.patch_id,
            assignment_id=item.assignment_id,
            campaign_id=item.campaign_id,
            position=item.position,
        )

    return NextOut(
        current=entry(view.current) if view.current else None,
        upcoming=[entry(i) for i in view.upcoming],
        remaining=view.remaining,
    )


@router.get("/review/next")
def next_patch(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    after_position: Annotated[
        int | None, Query(description="continue after this queue position")
    ] = None,
) -> NextOut:
    """The user's next assigned patch and the ids of the next few to prefetch."""
    view = review_queue.queue_view(
        session=session, user_id=user.id, prefetch=settings.prefetch, after_position=after_position
    )
    return _next_out(view)


@router.post("/decisions", status_code=201, dependencies=[Depends(check_csrf)])
def post_decision(body: DecisionIn, session: SessionDep, user: CurrentUser) -> DecisionResult:
    """Record a decision (append-only), or undo the user's last one with kind "undo".

    Annotators may decide only on patches assigned to them (403 otherwise); reviewers
    and admins on any patch. The patch's status is re-derived from all its decisions.
    """
    if body.kind == "undo":
        decision = decisions.undo_last(session=session, user=user, patch_id=body.patch_id)
    else:
        if body.patch_id is None:
            raise Invalid("patch_id is required for this decision.")
        decision = decisions.decide(
            session=session,
            user=user,
            patch_id=body.patch_id,
            kind=body.kind,
            label_revision_id=body.label_revision_id,
            comment=body.comment,
            confidence=body.confidence,
            time_spent_ms=body.time_spent_ms,
            view=body.view,
            date_shown=body.date_shown,
        )
    patch = session.get(Patch, decision.patch_id)
    return DecisionResult(decision=decision_out(decision, user.username), patch_status=patch.status)


@pages.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    patch: int | None = None,
) -> HTMLResponse:
    """The review page; `?patch=ID` opens one patch instead of the queue's next.

    The queue and the first patch's detail are written into the page, so that the
    browser's first requests after the HTML are the patch's images (no API round trips).
    """
    queue = _next_out(
        review_queue.queue_view(session=session, user_id=user.id, prefetch=settings.prefetch)
    )
    shown = patch if patch is not None else (queue.current.patch_id if queue.current else None)
    detail = None
    if shown is not None:
        detail = patch_detail(session=session, patch=get_patch(session=session, patch_id=shown))
    initial = {
        "queue": queue.model_dump(mode="json"),
        "detail": detail.model_dump(mode="json") if detail else None,
    }
    return render(request, "review.html", user, initial=initial)
