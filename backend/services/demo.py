"""The demo set-up `make run` performs: database, nomenclatures, users, demo dataset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.models import Campaign, Dataset, User
from backend.services.campaigns import create_campaign
from backend.services.ingest import ingest
from backend.services.map_products import register_scene_products
from backend.services.users import create_user
from ml.data import synthetic

DEMO_DATASET = "demo-toulouse"
DEMO_CAMPAIGN = "demo: two annotators per patch"
DEMO_USERS = (
    ("admin", "admin", "sitslab-admin"),
    ("reviewer", "reviewer", "sitslab-reviewer"),
    ("annotator1", "annotator", "sitslab-annotator1"),
    ("annotator2", "annotator", "sitslab-annotator2"),
)


def ensure_demo_users(*, session: Session) -> list[tuple[str, str, str]]:
    """Create the demo logins that are missing; returns (name, role, password) of all."""
    existing = set(session.scalars(select(User.username)))
    for username, role, password in DEMO_USERS:
        if username not in existing:
            create_user(session=session, username=username, role=role, password=password)
    return list(DEMO_USERS)


def ensure_demo_dataset(
    *, session: Session, n_patches: int, progress: Callable[[int, int], None] | None = None
) -> str:
    """Generate (once) and ingest (idempotently) the synthetic demo dataset, its map
    backdrops and a review campaign for the two demo annotators."""
    dataset = session.scalar(select(Dataset).where(Dataset.name == DEMO_DATASET))
    message = "already loaded"
    if dataset is None:
        source = get_settings().data_dir / "demo-source"
        if not (source / "manifest.json").exists():
            synthetic.generate(
                Path(source), n_patches=n_patches, n_dates=24, seed=7, progress=progress
            )
        report = ingest(session=session, path=source, format="geotiff", name=DEMO_DATASET)
        message = f"{report.added} patches ingested, {len(report.problems)} refused"
        dataset = session.get(Dataset, report.dataset_id)
    register_scene_products(session=session, dataset=dataset)
    _ensure_demo_campaign(session=session, dataset=dataset)
    return message


def _ensure_demo_campaign(*, session: Session, dataset: Dataset) -> None:
    """Every demo patch reviewed by both demo annotators, most suspicious first."""
    if session.scalar(select(Campaign).where(Campaign.name == DEMO_CAMPAIGN)) is not None:
        return
    users = {u.username: u for u in session.scalars(select(User))}
    create_campaign(
        session=session,
        name=DEMO_CAMPAIGN,
        dataset_id=dataset.id,
        overlap=2,
        user_ids=[users["annotator1"].id, users["annotator2"].id],
        order="suspicion",
        created_by=users["admin"].id,
    )
