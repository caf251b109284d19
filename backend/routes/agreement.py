"""Agreement between a campaign's annotators, for reviewers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from backend.deps import ReviewerUser, SessionDep
from backend.schemas.campaigns import AgreementOut
from backend.services.adjudication import disagreements
from backend.services.agreement import campaign_agreement
from backend.services.campaigns import campaign_summary, get_campaign
from backend.templating import render

router = APIRouter(prefix="/api/v1/campaigns", tags=["agreement"])
pages = APIRouter(include_in_schema=False)


@router.get("/{campaign_id}/agreement")
def agreement(campaign_id: int, session: SessionDep, _: ReviewerUser) -> AgreementOut:
    """Cohen's kappa per pair, Fleiss' kappa overall and per decision, agreement per
    majority class, mask IoU per pair, gold accuracy and median time per annotator."""
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    return AgreementOut(**campaign_agreement(session=session, campaign=campaign))


@pages.get("/campaigns/{campaign_id}/agreement", response_class=HTMLResponse)
def agreement_page(
    request: Request, campaign_id: int, session: SessionDep, user: ReviewerUser
) -> HTMLResponse:
    """The reviewers' agreement page, with the disagreements to adjudicate."""
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    return render(
        request,
        "agreement.html",
        user,
        campaign=campaign_summary(session=session, campaign=campaign),
        report=campaign_agreement(session=session, campaign=campaign),
        disagreements=disagreements(session=session, campaign=campaign),
    )
