"""Review campaigns: admins create them; everyone lists them; reviewers follow progress."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from backend.deps import AdminUser, CurrentUser, ReviewerUser, SessionDep, check_csrf
from backend.models import Campaign, Dataset, User
from backend.schemas.campaigns import CampaignIn, CampaignOut, CampaignProgress
from backend.services.campaigns import (
    campaign_progress,
    campaign_summary,
    create_campaign,
    get_campaign,
)
from backend.templating import render

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])
pages = APIRouter(include_in_schema=False)


@router.post("", status_code=201, dependencies=[Depends(check_csrf)])
def post_campaign(body: CampaignIn, session: SessionDep, admin: AdminUser) -> CampaignOut:
    """Create a campaign and its assignments (balanced overlap, gold mixed into every queue).

    Unknown dataset: 404; overlap above the number of annotators, unknown user, empty
    selection: 422; a name already taken: 409. Nothing is written on error.
    """
    campaign = create_campaign(
        session=session,
        name=body.name,
        dataset_id=body.dataset_id,
        overlap=body.overlap,
        user_ids=body.user_ids,
        filter=body.filter.as_dict(),
        gold=body.gold,
        gold_external=body.gold_external,
        order=body.order,
        created_by=admin.id,
        seed=body.seed,
    )
    return CampaignOut(**campaign_summary(session=session, campaign=campaign))


@router.get("")
def list_campaigns(session: SessionDep, _: CurrentUser) -> list[CampaignOut]:
    """Every campaign, newest first, with its overall progress."""
    campaigns = session.scalars(select(Campaign).order_by(Campaign.id.desc()))
    return [CampaignOut(**campaign_summary(session=session, campaign=c)) for c in campaigns]


@router.get("/{campaign_id}")
def get_one(campaign_id: int, session: SessionDep, _: CurrentUser) -> CampaignOut:
    """One campaign with its overall progress."""
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    return CampaignOut(**campaign_summary(session=session, campaign=campaign))


@router.get("/{campaign_id}/progress")
def progress(campaign_id: int, session: SessionDep, _: ReviewerUser) -> CampaignProgress:
    """Done / remaining per annotator, with decisions per hour of work."""
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    return CampaignProgress(**campaign_progress(session=session, campaign=campaign))


@pages.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    """The campaigns, the admins' creation form and the reviewers' export form."""
    campaigns = [
        campaign_summary(session=session, campaign=c)
        for c in session.scalars(select(Campaign).order_by(Campaign.id.desc()))
    ]
    datasets = list(session.scalars(select(Dataset).order_by(Dataset.name)))
    users = list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)))
    return render(
        request, "campaigns.html", user, campaigns=campaigns, datasets=datasets, users=users
    )


@pages.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(
    request: Request, campaign_id: int, session: SessionDep, user: ReviewerUser
) -> HTMLResponse:
    """One campaign: progress per annotator, links to agreement and disagreements."""
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    return render(
        request,
        "campaign.html",
        user,
        campaign=campaign_progress(session=session, campaign=campaign),
    )
