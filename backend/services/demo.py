"""The demo set-up `make run` performs: database, nomenclatures, users, demo dataset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.models import Dataset, User
from backend.services.ingest import ingest
from backend.services.users import create_user
from ml.data import synthetic

DEMO_DATASET = "demo-toulouse"
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
    """Generate (once) and ingest (idempotently) the synthetic demo dataset."""
    if session.scalar(select(Dataset).where(Dataset.name == DEMO_DATASET)) is not None:
        return "already loaded"
    source = get_settings().data_dir / "demo-source"
    if not (source / "manifest.json").exists():
        synthetic.generate(Path(source), n_patches=n_patches, n_dates=24, seed=7, progress=progress)
    report = ingest(session=session, path=source, format="geotiff", name=DEMO_DATASET)
    return f"{report.added} patches ingested, {len(report.problems)} refused"
