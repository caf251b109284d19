"""Training sets: list them (a corpus to reuse, labels to train on again), show one, and
which label revision of which patch it froze; the same as pages, with the runs that read
each set and the labels corrected since it was frozen."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from backend.deps import CurrentUser, SessionDep, SettingsDep
from backend.errors import Conflict
from backend.models import TrainingSetPurpose
from backend.schemas.training_sets import TrainingSetOut
from backend.services import training_sets as service
from backend.templating import render

router = APIRouter(prefix="/api/v1/training-sets", tags=["training sets"])
pages = APIRouter(include_in_schema=False)


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


@pages.get("/training-sets", response_class=HTMLResponse)
def training_sets_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    purpose: TrainingSetPurpose | None = None,
) -> HTMLResponse:
    """Every training set, or those of one purpose, with the runs that read each."""
    rows = service.list_training_sets(session=session, purpose=purpose)
    return render(
        request,
        "training_sets.html",
        user,
        purpose=purpose,
        training_sets=[service.training_set_out(session=session, training_set=r) for r in rows],
        runs=service.runs_reading(session=session, training_set_ids=[r.id for r in rows]),
    )


@pages.get("/training-sets/{training_set_id}", response_class=HTMLResponse)
def training_set_page(
    training_set_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> HTMLResponse:
    """What a training set froze, patch by patch, against each patch's labels now; a set
    whose snapshot file is lost says so instead of failing."""
    row = service.get_training_set(session=session, training_set_id=training_set_id)
    patches, lost = [], None
    try:
        patches = service.frozen_against_now(session=session, settings=settings, training_set=row)
    except Conflict as exc:
        lost = exc.message
    return render(
        request,
        "training_set.html",
        user,
        training_set=service.training_set_out(session=session, training_set=row),
        patches=patches,
        lost=lost,
        runs=service.runs_reading(session=session, training_set_ids=[row.id])[row.id],
    )
