"""Launching jobs (validated, all or nothing) and reading them back for pages and the API."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.errors import Invalid, NotFound, field_errors
from backend.models import Job, JobEvent, JobState, Run, TrainingSet
from backend.models.base import utcnow
from backend.schemas.jobs import PARAMS, JobEventOut, JobOut
from backend.services import queue
from backend.services.map_products import scene_config
from backend.services.queue import as_utc
from backend.services.training_sets import (
    CORPUS_FIELD,
    CORPUS_SETS,
    check_corpus,
    committed_with_snapshots,
    create_corpus,
    create_training_set,
    get_labels,
    require_snapshot_file,
)
from ml.train.config import PRESETS

SNAPSHOT_KEYS = ("dataset_id", "statuses", "include_unreviewed", CORPUS_FIELD, CORPUS_SETS)
"""Launch parameters that become training sets (``freeze_sources``), not job settings."""


def validate_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Check a launch's parameters against its kind's schema; Invalid lists field errors.

    Returns:
        The parameters with defaults filled in (JSON-ready).
    """
    schema = PARAMS.get(kind)
    if schema is None:
        raise Invalid(
            f"Unknown job kind {kind!r}; choose one of {', '.join(PARAMS)}.", field="kind"
        )
    try:
        return schema.model_validate(params).model_dump(mode="json")
    except ValidationError as exc:
        raise field_errors(exc.errors(), whole="params") from None


def _check_references(session: Session, settings: Settings, params: dict[str, Any]) -> None:
    """404 for a scene or run id that does not exist (before anything is written).

    The training sets are checked by ``freeze_sources``, before it writes anything.
    """
    if params.get("scene_dataset_id") is not None:
        dataset_id = params["scene_dataset_id"]
        scene_config(session=session, settings=settings, dataset_id=dataset_id)
    for key in ("pretrained_run_id", "run_id"):
        if params.get(key) is not None:
            run = session.get(Run, params[key])
            if run is None:
                raise NotFound(f"No run with id {params[key]}.", field=key)
            if key == "pretrained_run_id":
                _check_pretraining(run, params)


LEGACY_NETWORK = {"model": "tiny", "mask_clouds": False, "encoder_norm": "group"}
"""What pre-trainings recorded before each setting existed were made with."""


def _pretrained_with(run: Run, key: str) -> Any:
    """The value of network setting ``key`` that pre-training ``run`` was made with: its
    recorded one, the legacy one before the setting existed, the preset's when left unset."""
    made = run.params.get(key, LEGACY_NETWORK[key])
    if made is None:
        return getattr(PRESETS[_pretrained_with(run, "model")], key)
    return made


def _check_pretraining(run: Run, params: dict[str, Any]) -> None:
    """422 for a run that is not a pre-training, or one whose network the job would not load.

    ``params`` are validated, so they hold every setting; a network setting left unset
    (None) is taken from the pre-training by the ml code.
    """
    if run.kind != "pretrain":
        raise Invalid(
            f"Run {run.id} is a {run.kind} run, not a pre-training.", field="pretrained_run_id"
        )
    for key in LEGACY_NETWORK:
        made, asked = _pretrained_with(run, key), params[key]
        if asked is not None and made != asked:
            raise Invalid(
                f"Run {run.id} was pre-trained with {key} = {made!r}; fine-tune it with the "
                f"same setting, not {asked!r}"
                + ("." if key == "model" else ", or leave it to the pre-training's."),
                field=key,
            )


def freeze_sources(
    *,
    session: Session,
    settings: Settings,
    params: dict[str, Any],
    created_by: int | None = None,
) -> tuple[TrainingSet | None, list[TrainingSet]]:
    """The training sets validated ``params`` read: labels and pre-training corpus.

    A new snapshot of ``dataset_id``'s labels (or the existing ``training_set_id``); the
    corpora frozen before of ``corpus_training_set_ids``, and one new training set per
    dataset of ``corpus_dataset_ids``. The corpus is checked against the labelled dataset,
    and the sets reused for their snapshot files, before any snapshot is written. Nothing
    is committed: the caller commits the new training sets with what reads them
    (``launch``: the job) in a ``committed_with_snapshots`` block, so a failure on the way
    (a disk full) leaves no training set behind, nor its file.

    Returns:
        The labels' training set (None for a kind without labels) and the corpus's
        training sets, the reused ones first.
    """
    training_set = None
    if params.get("training_set_id") is not None:
        training_set = get_labels(session=session, training_set_id=params["training_set_id"])
        require_snapshot_file(settings=settings, training_set=training_set, field="training_set_id")
    corpus = params.get(CORPUS_FIELD) or []
    reused = params.get(CORPUS_SETS) or []
    if corpus or reused:
        labelled = params.get("dataset_id")
        if labelled is None:
            labelled = training_set.dataset_id
        check_corpus(
            session=session,
            dataset_ids=corpus,
            training_set_ids=reused,
            labelled_dataset_id=labelled,
        )
    frozen_before = [session.get(TrainingSet, i) for i in reused]
    for frozen in frozen_before:
        require_snapshot_file(settings=settings, training_set=frozen, field=CORPUS_SETS)
    if params.get("dataset_id") is not None:
        training_set = create_training_set(
            session=session,
            settings=settings,
            dataset_id=params["dataset_id"],
            statuses=params["statuses"],
            include_unreviewed=params["include_unreviewed"],
            created_by=created_by,
            commit=False,
        )
    frozen_now = create_corpus(
        session=session,
        settings=settings,
        dataset_ids=corpus,
        created_by=created_by,
        commit=False,
    )
    return training_set, frozen_before + frozen_now


def launch(
    *,
    session: Session,
    settings: Settings,
    kind: str,
    params: dict[str, Any],
    created_by: int | None = None,
) -> Job:
    """Validate, snapshot the labels when a dataset is given, and enqueue one job.

    Nothing is written when any check fails, and the training sets are committed with the
    job (their files deleted if it is not). With ``dataset_id`` the current validated
    labels are frozen into a new training set now, so the run uses the labels of the
    moment it was launched, whenever a worker picks it up; a pre-training corpus
    (``corpus_dataset_ids``) is frozen likewise, one training set per dataset, beside any
    corpus frozen before (``corpus_training_set_ids``).
    """
    clean = validate_params(kind, params)
    _check_references(session, settings, clean)
    with committed_with_snapshots(session):
        training_set, corpus = freeze_sources(
            session=session, settings=settings, params=clean, created_by=created_by
        )
        for key in SNAPSHOT_KEYS:
            clean.pop(key, None)
        if training_set is not None:
            clean["training_set_id"] = training_set.id
        if corpus:
            clean[CORPUS_SETS] = [extra.id for extra in corpus]
        return queue.enqueue(
            session=session,
            kind=kind,
            params=clean,
            created_by=created_by,
            max_attempts=settings.max_attempts,
        )


def get_job(*, session: Session, job_id: int) -> Job:
    """The job, or NotFound."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"No job with id {job_id}.")
    return job


def run_ids_by_job(session: Session, job_ids: list[int]) -> dict[int, list[int]]:
    """The runs each job produced, in one query for any number of jobs."""
    runs: dict[int, list[int]] = {job_id: [] for job_id in job_ids}
    rows = session.execute(
        select(Run.job_id, Run.id).where(Run.job_id.in_(job_ids)).order_by(Run.id)
    )
    for job_id, run_id in rows:
        runs[job_id].append(run_id)
    return runs


def job_out(*, session: Session, job: Job, run_ids: list[int] | None = None) -> JobOut:
    """A job with its elapsed time, ETA (linear in progress) and the runs it produced.

    ``run_ids`` when the caller fetched them for many jobs at once (``run_ids_by_job``).
    """
    started, finished = as_utc(job.started_at), as_utc(job.finished_at)
    elapsed = eta = None
    if started is not None:
        elapsed = ((finished or utcnow()) - started).total_seconds()
        if job.state == JobState.running.value and 0.01 < job.progress < 1:
            eta = elapsed * (1 - job.progress) / job.progress
    if run_ids is None:
        run_ids = run_ids_by_job(session, [job.id])[job.id]
    return JobOut(
        id=job.id,
        kind=job.kind,
        state=job.state,
        params=job.params,
        progress=job.progress,
        message=job.message,
        error=job.error,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        cancel_requested=job.cancel_requested,
        worker_id=job.worker_id,
        created_at=as_utc(job.created_at),
        started_at=started,
        finished_at=finished,
        elapsed_s=elapsed,
        eta_s=eta,
        run_ids=run_ids,
    )


def list_jobs(*, session: Session, state: str | None = None, limit: int = 100) -> list[JobOut]:
    """Newest jobs first."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if state:
        query = query.where(Job.state == state)
    jobs = list(session.scalars(query))
    runs = run_ids_by_job(session, [j.id for j in jobs])
    return [job_out(session=session, job=j, run_ids=runs[j.id]) for j in jobs]


def job_events(
    *, session: Session, job_id: int, after: int = 0, limit: int = 1000
) -> list[JobEventOut]:
    """Events of a job with id > ``after``, oldest first."""
    rows = session.scalars(
        select(JobEvent)
        .where(JobEvent.job_id == job_id, JobEvent.id > after)
        .order_by(JobEvent.id)
        .limit(limit)
    )
    return [
        JobEventOut(id=e.id, kind=e.kind, payload=e.payload, created_at=as_utc(e.created_at))
        for e in rows
    ]
