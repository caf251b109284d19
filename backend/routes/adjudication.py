"""Adjudication: disagreements of a campaign, versions side by side, the reviewer's settlement."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from backend.deps import ReviewerUser, SessionDep, check_csrf
from backend.models import Patch
from backend.schemas.campaigns import AdjudicateIn, AdjudicateOut, Disagreement, VersionsOut
from backend.services import adjudication
from backend.services.campaigns import get_campaign
from backend.services.labels import get_patch, patch_nomenclature
from backend.templating import render

router = APIRouter(prefix="/api/v1", tags=["adjudication"])
pages = APIRouter(include_in_schema=False)


@router.get("/campaigns/{campaign_id}/disagreements")
def list_disagreements(
    campaign_id: int, session: SessionDep, _: ReviewerUser
) -> list[Disagreement]:
    """Patches whose annotators' decisions or masks differ, unsettled ones first."""
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    return [
        Disagreement(**d) for d in adjudication.disagreements(session=session, campaign=campaign)
    ]


@router.get("/patches/{patch_id}/versions")
def patch_versions(
    patch_id: int, session: SessionDep, _: ReviewerUser, campaign_id: int | None = None
) -> VersionsOut:
    """The original label and each annotator's standing version of a patch."""
    return VersionsOut(
        **adjudication.versions(session=session, patch_id=patch_id, campaign_id=campaign_id)
    )


@router.post("/patches/{patch_id}/adjudicate", status_code=201, dependencies=[Depends(check_csrf)])
def adjudicate(
    patch_id: int, body: AdjudicateIn, session: SessionDep, reviewer: ReviewerUser
) -> AdjudicateOut:
    """Settle a patch: keep one version as the final label (a new revision), or reject it."""
    decision = adjudication.adjudicate(
        session=session,
        reviewer=reviewer,
        patch_id=patch_id,
        revision_id=body.revision_id,
        reject=body.reject,
        comment=body.comment,
        campaign_id=body.campaign_id,
    )
    return AdjudicateOut(
        decision_id=decision.id,
        kind=decision.kind,
        new_revision_id=decision.new_revision_id,
        patch_status=session.get(Patch, patch_id).status,
    )


@pages.get("/adjudication/{patch_id}", response_class=HTMLResponse)
def adjudication_page(
    request: Request,
    patch_id: int,
    session: SessionDep,
    user: ReviewerUser,
    campaign: int | None = None,
) -> HTMLResponse:
    """The annotators' versions side by side over the image, and the settle buttons."""
    patch = get_patch(session=session, patch_id=patch_id)
    legend = patch_nomenclature(session=session, patch=patch)
    return render(
        request,
        "adjudication.html",
        user,
        patch=patch,
        view=adjudication.versions(session=session, patch_id=patch_id, campaign_id=campaign),
        legend=[c for c in legend.classes if not c.ignore],
    )
