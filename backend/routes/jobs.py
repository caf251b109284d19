"""Jobs: launch (form and API), list, follow live (server-sent events), cancel, retry."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from backend.db import get_sessionmaker
from backend.deps import CurrentUser, ReviewerUser, SessionDep, SettingsDep, check_csrf
from backend.errors import NotFound
from backend.models import Dataset, Run, TrainingSetPurpose
from backend.schemas.jobs import FORM_CHOICES, JobEventOut, JobIn, JobOut, form_defaults
from backend.services import jobs as service
from backend.services import queue
from backend.services.experiments import job_comparison
from backend.services.queue import FINISHED
from backend.services.training_sets import has_snapshot_file, list_training_sets
from backend.templating import render

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
pages = APIRouter(include_in_schema=False)

STREAM_POLL_S = 0.5
KEEPALIVE_S = 15.0


@router.post("", status_code=201, dependencies=[Depends(check_csrf)])
def launch_job(
    body: JobIn, session: SessionDep, settings: SettingsDep, user: ReviewerUser
) -> JobOut:
    """Queue a job; 422 with per-field ``errors`` for bad parameters, 404 for unknown ids."""
    job = service.launch(
        session=session, settings=settings, kind=body.kind, params=body.params, created_by=user.id
    )
    return service.job_out(session=session, job=job)


@router.get("")
def list_jobs(
    session: SessionDep,
    _: CurrentUser,
    state: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[JobOut]:
    """Newest jobs first, optionally in one state."""
    return service.list_jobs(session=session, state=state, limit=limit)


@router.get("/{job_id}")
def get_job(job_id: int, session: SessionDep, _: CurrentUser) -> JobOut:
    """One job with its progress, elapsed time, ETA and runs."""
    return service.job_out(session=session, job=service.get_job(session=session, job_id=job_id))


@router.get("/{job_id}/comparison")
def get_comparison(
    job_id: int, session: SessionDep, settings: SettingsDep, _: CurrentUser
) -> dict[str, Any]:
    """A finished comparison job's table, and its mean and spread over seeds."""
    job = service.get_job(session=session, job_id=job_id)
    comparison = job_comparison(session=session, settings=settings, job=job)
    if comparison is None:
        raise NotFound(
            f"Job {job_id} has no comparison table: only a comparison job that succeeded has one."
        )
    return comparison


@router.get("/{job_id}/events")
def job_events(
    job_id: int, session: SessionDep, _: CurrentUser, after: Annotated[int, Query(ge=0)] = 0
) -> list[JobEventOut]:
    """Events after id ``after`` (the polling fallback of the stream)."""
    service.get_job(session=session, job_id=job_id)
    return service.job_events(session=session, job_id=job_id, after=after)


def _sse(event: str, data: object, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


def _poll(job_id: int, after: int) -> tuple[JobOut, list[JobEventOut]]:
    with get_sessionmaker()() as session:
        job = service.get_job(session=session, job_id=job_id)
        return service.job_out(session=session, job=job), service.job_events(
            session=session, job_id=job_id, after=after
        )


async def _stream(request: Request, job_id: int, after: int) -> AsyncIterator[str]:
    """Job events with id > ``after``, a ``job`` event when the job changes, then ``end``."""
    last_state: str | None = None
    quiet = 0.0
    while not await request.is_disconnected():
        job, events = await run_in_threadpool(_poll, job_id, after)
        for event in events:
            after = event.id
            yield _sse(event.kind, {**event.payload, "at": event.created_at}, event.id)
        state = json.dumps([job.state, job.progress, job.message, job.attempts])
        if state != last_state:
            last_state = state
            yield _sse("job", job.model_dump(mode="json"))
        if job.state in FINISHED and not events:
            yield _sse("end", {"state": job.state})
            return
        quiet = 0.0 if events else quiet + STREAM_POLL_S
        if quiet >= KEEPALIVE_S:
            quiet = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(STREAM_POLL_S)


@router.get("/{job_id}/stream")
async def stream_job(
    job_id: int,
    request: Request,
    _: CurrentUser,
    last_event_id: Annotated[int | None, Header()] = None,
    after: Annotated[int, Query(ge=0)] = 0,
) -> StreamingResponse:
    """Server-sent events: progress, log, metric (ids from the job's events), job, end.

    A reconnecting browser sends Last-Event-ID and gets only what it missed.
    """
    await run_in_threadpool(_poll, job_id, 0)  # 404 before the stream starts
    start = last_event_id if last_event_id is not None else after
    return StreamingResponse(
        _stream(request, job_id, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/{job_id}/cancel", dependencies=[Depends(check_csrf)])
def cancel_job(job_id: int, session: SessionDep, _: ReviewerUser) -> JobOut:
    """Cancel a queued job, or ask a running one to stop (it saves a checkpoint)."""
    job = queue.request_cancel(session=session, job_id=job_id)
    return service.job_out(session=session, job=job)


@router.post("/{job_id}/retry", dependencies=[Depends(check_csrf)])
def retry_job(job_id: int, session: SessionDep, _: ReviewerUser) -> JobOut:
    """Queue a failed or cancelled job again (it resumes from its checkpoints)."""
    job = queue.retry(session=session, job_id=job_id)
    return service.job_out(session=session, job=job)


@pages.get("/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> HTMLResponse:
    """Every job with live progress, and the launch form (training sets whose snapshot file
    is lost greyed out: a launch on them is refused)."""
    training_sets = list_training_sets(session=session, purpose=TrainingSetPurpose.labels)
    corpora = list_training_sets(session=session, purpose=TrainingSetPurpose.corpus)
    return render(
        request,
        "jobs.html",
        user,
        jobs=service.list_jobs(session=session),
        datasets=session.scalars(select(Dataset).order_by(Dataset.name)).all(),
        training_sets=training_sets,
        corpora=corpora,
        lost={
            t.id
            for t in training_sets + corpora
            if not has_snapshot_file(settings=settings, training_set=t)
        },
        pretrain_runs=session.scalars(
            select(Run).where(Run.kind == "pretrain").order_by(Run.id.desc())
        ).all(),
        runs=session.scalars(select(Run).order_by(Run.id.desc())).all(),
        defaults=form_defaults(),
        choices=FORM_CHOICES,
    )


@pages.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(
    job_id: int, request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> HTMLResponse:
    """One job live: progress, ETA, log, metric curves, cancel and retry; a comparison's table."""
    row = service.get_job(session=session, job_id=job_id)
    comparison = job_comparison(session=session, settings=settings, job=row)
    job = service.job_out(session=session, job=row)
    return render(request, "job.html", user, job=job, comparison=comparison)
