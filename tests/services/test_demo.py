"""The demo set-up `make run` performs is complete and idempotent."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.models import Assignment, Campaign, MapProduct, Patch, User
from backend.services import demo


def _counts(session: Session) -> dict[str, int]:
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model))
        for model in (User, Patch, Campaign, Assignment, MapProduct)
    }


def test_demo_loads_users_data_campaign_and_backdrops(session: Session) -> None:
    logins = demo.ensure_demo_users(session=session)
    message = demo.ensure_demo_dataset(session=session, n_patches=4)
    assert message == "4 patches ingested, 0 refused"
    assert {name for name, _, _ in logins} == {"admin", "reviewer", "annotator1", "annotator2"}
    counts = _counts(session)
    assert counts["patches"] == 4 and counts["campaigns"] == 1
    assert counts["assignments"] == 8  # every patch for both annotators
    kinds = set(session.scalars(select(MapProduct.kind)))
    assert {"reference", "composite"} <= kinds

    demo.ensure_demo_users(session=session)
    assert demo.ensure_demo_dataset(session=session, n_patches=4) == "already loaded"
    assert _counts(session) == counts
