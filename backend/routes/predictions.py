"""Runs' predictions for a patch: the runs that can predict, the prediction PNG, agreement."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from backend.deps import CurrentUser, SessionDep, SettingsDep
from backend.routes.patches import PNG, PatchDep, cached_response
from backend.services import imagery
from backend.services.labels import current_revision, patch_nomenclature
from backend.services.predictions import agreement, eligible_runs, predicted_labels
from backend.services.runs import get_run

# Registered before the runs router, whose /api/v1/runs/{run_id} would catch "predictable".
runs_router = APIRouter(prefix="/api/v1/runs", tags=["runs"])
router = APIRouter(prefix="/api/v1/patches", tags=["patches"])


@runs_router.get("/predictable")
def predictable_runs(session: SessionDep, settings: SettingsDep, _: CurrentUser) -> list[dict]:
    """Runs whose prediction can be overlaid on a patch (U-BARN fine-tuning and RF runs)."""
    return eligible_runs(session=session, settings=settings)


@router.get("/{patch_id}/predictions/{run_id}.png", responses=PNG)
def prediction_png(
    request: Request,
    patch: PatchDep,
    run_id: int,
    session: SessionDep,
    settings: SettingsDep,
    _: CurrentUser,
) -> Response:
    """The run's predicted classes for the patch in the nomenclature's colours.

    404 for an unknown patch or run; 422 for a run that cannot predict this patch.
    """
    run = get_run(session=session, run_id=run_id)
    colormap = patch_nomenclature(session=session, patch=patch).colormap()
    return cached_response(
        request,
        f"prediction:{patch.id}:{run.id}:{run.out_dir}",
        lambda: imagery.encode_png(
            imagery.label_overlay(
                predicted_labels(session=session, settings=settings, patch=patch, run=run),
                colormap,
            )
        ),
        "image/png",
    )


@router.get("/{patch_id}/predictions/{run_id}")
def prediction_agreement(
    patch: PatchDep, run_id: int, session: SessionDep, settings: SettingsDep, _: CurrentUser
) -> dict[str, Any]:
    """Agreement between the run's prediction and the current label revision, and the PNG URL.

    `agreement` is the share of the revision's non-ignored pixels where both give the same
    class (None when the patch has no revision or every pixel is ignored).
    """
    run = get_run(session=session, run_id=run_id)
    predicted = predicted_labels(session=session, settings=settings, patch=patch, run=run)
    revision = current_revision(session=session, patch_id=patch.id)
    return {
        "patch_id": patch.id,
        "run": {"id": run.id, "name": run.name, "kind": run.kind},
        "url": f"{router.prefix}/{patch.id}/predictions/{run.id}.png",
        **agreement(session=session, patch=patch, predicted=predicted, revision=revision),
    }
