"""Runs: results (metrics, confusion, per-class F1, training set, parameters) and comparison."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from backend.deps import CurrentUser, SessionDep, SettingsDep
from backend.services import runs as service
from backend.services.training_sets import get_training_set, snapshot_revisions
from backend.templating import render

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])
pages = APIRouter(include_in_schema=False)


@router.get("")
def list_runs(session: SessionDep, _: CurrentUser) -> list[dict[str, Any]]:
    """Newest runs first, with their headline metrics."""
    return service.list_runs(session=session)


@router.get("/compare")
def compare_runs(
    a: int, b: int, session: SessionDep, settings: SettingsDep, _: CurrentUser
) -> dict[str, Any]:
    """Runs a and b side by side: metric deltas (b - a), per-class F1, McNemar's test."""
    return service.compare(session=session, settings=settings, a_id=a, b_id=b)


@router.get("/{run_id}")
def get_run(
    run_id: int, session: SessionDep, settings: SettingsDep, _: CurrentUser
) -> dict[str, Any]:
    """A run's metrics, confusion matrix, per-class scores, parameters and training set."""
    run = service.get_run(session=session, run_id=run_id)
    return service.run_detail(session=session, settings=settings, run=run)


@router.get("/{run_id}/revisions")
def run_revisions(
    run_id: int, session: SessionDep, settings: SettingsDep, _: CurrentUser
) -> list[dict[str, Any]]:
    """Which label revision of which patch the run trained and was tested on."""
    run = service.get_run(session=session, run_id=run_id)
    if run.training_set_id is None:
        return []
    training_set = get_training_set(session=session, training_set_id=run.training_set_id)
    return snapshot_revisions(settings=settings, training_set=training_set)


@router.get("/{run_id}/artefacts/{name}")
def run_artefact(
    run_id: int, name: str, session: SessionDep, settings: SettingsDep, _: CurrentUser
) -> FileResponse:
    """One of the run's PNG plots, by name (only files the run wrote)."""
    run = service.get_run(session=session, run_id=run_id)
    return FileResponse(service.artefact_path(settings, run, name), media_type="image/png")


@pages.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, session: SessionDep, user: CurrentUser) -> HTMLResponse:
    """Every run, with a picker to compare two."""
    return render(request, "runs.html", user, runs=service.list_runs(session=session))


@pages.get("/runs/compare", response_class=HTMLResponse)
def compare_page(
    a: int, b: int, request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> HTMLResponse:
    """Two runs side by side."""
    comparison = service.compare(session=session, settings=settings, a_id=a, b_id=b)
    return render(request, "runs_compare.html", user, cmp=comparison)


@pages.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    run_id: int, request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> HTMLResponse:
    """A run's results."""
    run = service.get_run(session=session, run_id=run_id)
    detail = service.run_detail(session=session, settings=settings, run=run)
    return render(request, "run.html", user, run=detail)
