"""Training sets: list them (a corpus to reuse, labels to train on again), show one, and
which label revision of which patch it froze."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from backend.deps import CurrentUser, SessionDep, SettingsDep
from backend.models import TrainingSetPurpose
from backend.schemas.training_sets import TrainingSetOut
from backend.services import training_sets as service

router = APIRouter(prefix="/api/v1/training-sets", tags=["training sets"])


@router.get("")
def list_training_sets(
    session: SessionDep,
    _: CurrentUser,
    purpose: TrainingSetPurpose | None = None,
    dataset_id: int | None = None,
) -> list[TrainingSetOut]:
    """Every training set, newest first; ``purpose=corpus`` lists the corpora a pre-training
    can reuse (``corpus_training_set_ids``), ``purpose=labels`` those a run can train on."""
    rows = service.list_training_sets(session=session, purpose=purpose, dataset_id=dataset_id)
    return [service.training_set_out(session=session, training_set=row) for row in rows]


@router.get("/{training_set_id}")
def get_training_set(training_set_id: int, session: SessionDep, _: CurrentUser) -> TrainingSetOut:
    """One training set."""
    row = service.get_training_set(session=session, training_set_id=training_set_id)
    return service.training_set_out(session=session, training_set=row)


@router.get("/{training_set_id}/revisions")
def training_set_revisions(
    training_set_id: int, session: SessionDep, settings: SettingsDep, _: CurrentUser
) -> list[dict[str, Any]]:
    """Which label revision of which patch it froze, with each patch's split."""
    row = service.get_training_set(session=session, training_set_id=training_set_id)
    return service.snapshot_revisions(settings=settings, training_set=row)
