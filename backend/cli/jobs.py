"""`sitslab worker`, `sitslab jobs ...` (launch, list, cancel, retry, training-sets) and
`sitslab experiment`."""

from __future__ import annotations

import json
import logging
import signal
import time
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.db import get_engine, get_sessionmaker
from backend.errors import DomainError
from backend.models import Dataset, TrainingSetPurpose
from backend.schemas.jobs import CompareParams
from backend.services import jobs as job_service
from backend.services import queue
from backend.services.training_sets import (
    committed_with_snapshots,
    list_training_sets,
    training_set_out,
)

console = Console()
app = typer.Typer(
    help="Launch and follow jobs (training, evaluation, comparison).", no_args_is_help=True
)


def worker(
    gpus: str = typer.Option("", help="GPUs to use, e.g. 0,1 (one job per GPU)."),
    backend: str = typer.Option("local", help="local (child processes) or slurm (submitit)."),
    concurrency: int = typer.Option(0, help="Jobs at once (default: one per GPU, or 1)."),
    kinds: str = typer.Option("", help="Only claim these job kinds, comma-separated."),
    burst: bool = typer.Option(False, help="Exit once the queue is empty."),
    partition: str = typer.Option("", help="SLURM partition."),
    slurm_gpus: int = typer.Option(1, help="GPUs per SLURM job."),
    time_min: int = typer.Option(24 * 60, help="SLURM time limit per job, in minutes."),
) -> None:
    """Run a worker: claim queued jobs and run them until stopped (Ctrl-C, SIGTERM)."""
    from backend.worker.local import LocalBackend
    from backend.worker.supervisor import Supervisor

    settings = get_settings()
    # The supervisor logs each job it starts and ends: an operator's `docker compose logs`.
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if backend == "slurm":
        from backend.worker.slurm import SlurmBackend

        runner = SlurmBackend(
            folder=settings.path("slurm"),
            partition=partition or None,
            gpus=slurm_gpus,
            time_min=time_min,
        )
    elif backend == "local":
        runner = LocalBackend()
    else:
        raise typer.BadParameter("backend must be local or slurm", param_hint="--backend")
    stopping = {"now": False}

    def _stop(_signum: int, _frame: object) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    supervisor = Supervisor(
        engine=get_engine(),
        settings=settings,
        backend=runner,
        gpus=[g.strip() for g in gpus.split(",") if g.strip()],
        concurrency=concurrency or None,
        kinds=[k.strip() for k in kinds.split(",") if k.strip()] or None,
    )
    supervisor.run(burst=burst, should_exit=lambda: stopping["now"])


@app.command("launch")
def launch(
    kind: str = typer.Argument(
        ..., help="pretrain, finetune, train_rf, evaluate, compare, selftest."
    ),
    params: str = typer.Option(
        "{}", "--params", "-p", help="JSON parameters, e.g. '{\"dataset_id\": 1}'."
    ),
) -> None:
    """Queue a job (the same checks as the web form)."""
    try:
        values = json.loads(params)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--params") from None
    with get_sessionmaker()() as session:
        try:
            job = job_service.launch(
                session=session, settings=get_settings(), kind=kind, params=values
            )
        except DomainError as exc:
            console.print(f"[red]{exc.message}[/red] {exc.detail or ''}")
            raise typer.Exit(2) from None
    console.print(f"Queued job {job.id} ({kind}).")


@app.command("list")
def list_jobs(state: str = typer.Option("", help="Only jobs in this state.")) -> None:
    """Recent jobs with their state and progress."""
    table = Table("id", "kind", "state", "progress", "message", "attempts")
    with get_sessionmaker()() as session:
        for job in job_service.list_jobs(session=session, state=state or None):
            table.add_row(
                str(job.id),
                job.kind,
                job.state,
                f"{job.progress:.0%}",
                job.message,
                str(job.attempts),
            )
    Console(width=max(console.width, 120)).print(table)  # one line per run, even if narrow


@app.command("training-sets")
def list_sets(
    purpose: TrainingSetPurpose | None = typer.Option(
        None, help="corpus: the corpora `experiment --corpus-set` reuses; labels: runs' labels."
    ),
) -> None:
    """Frozen training sets, newest first."""
    table = Table("id", "purpose", "dataset", "name", "patches", "created")
    with get_sessionmaker()() as session:
        for row in list_training_sets(session=session, purpose=purpose):
            shown = training_set_out(session=session, training_set=row)
            table.add_row(
                str(shown.id),
                shown.purpose,
                shown.dataset,
                shown.name,
                str(shown.n_patches),
                f"{shown.created_at:%Y-%m-%d %H:%M}",
            )
    Console(width=max(console.width, 120)).print(table)


@app.command("cancel")
def cancel(job_id: int) -> None:
    """Cancel a queued job, or ask a running one to stop."""
    with get_sessionmaker()() as session:
        job = queue.request_cancel(session=session, job_id=job_id)
    console.print(f"Job {job_id}: {job.state}{' (stopping)' if job.cancel_requested else ''}.")


@app.command("retry")
def retry(job_id: int) -> None:
    """Queue a failed or cancelled job again."""
    with get_sessionmaker()() as session:
        queue.retry(session=session, job_id=job_id)
    console.print(f"Job {job_id} queued again.")


@app.command("wait")
def wait(
    job_id: int, timeout_s: float = typer.Option(3600, help="Give up after this long.")
) -> None:
    """Wait for a job to end; exit status 0 only when it succeeded."""
    deadline = time.monotonic() + timeout_s
    with get_sessionmaker()() as session:
        while time.monotonic() < deadline:
            job = job_service.get_job(session=session, job_id=job_id)
            session.refresh(job)
            if job.state in queue.FINISHED:
                console.print(f"Job {job_id}: {job.state} {job.message}")
                raise typer.Exit(0 if job.state == "succeeded" else 1)
            time.sleep(1)
    raise typer.Exit(124)


_DEFAULTS = {name: field.default for name, field in CompareParams.model_fields.items()}


def experiment(
    dataset: str = typer.Argument(..., help="Dataset name or id."),
    label_fraction: float = typer.Option(
        _DEFAULTS["label_fraction"], help="Fraction of training patches labelled."
    ),
    epochs: int = typer.Option(_DEFAULTS["epochs"], help="U-BARN fine-tuning epochs."),
    pretrain_epochs: int = typer.Option(
        _DEFAULTS["pretrain_epochs"], help="U-BARN pre-training epochs."
    ),
    model: str = typer.Option(_DEFAULTS["model"], help="U-BARN size: tiny, small or paper."),
    seed: int = typer.Option(_DEFAULTS["seed"]),
    seeds: str | None = typer.Option(
        None,
        help="Several seeds, e.g. '0,1,2': the comparison once per seed, then the mean "
        "and spread over seeds (replaces --seed).",
    ),  # fmt: skip
    device: str = typer.Option(_DEFAULTS["device"], help="auto, cpu or cuda."),
    include_unreviewed: bool = typer.Option(
        _DEFAULTS["include_unreviewed"], help="Also use patches nobody reviewed."
    ),
    mask_clouds: bool | None = typer.Option(
        None,
        "--mask-clouds/--every-date",
        help="U-BARN reads each pixel's clear dates only, or every date (the paper's); "
        "default: the preset's (tiny, small: clear dates only; paper: every date).",
    ),
    encoder_norm: str | None = typer.Option(
        None,
        help="U-BARN's spatial encoder: group (the paper's) or batch; default: the "
        "preset's (tiny, small: batch; paper: group).",
    ),
    class_balance: float = typer.Option(
        _DEFAULTS["class_balance"], help="U-BARN loss weights (class frequency)^-balance."
    ),
    crop_balance: float = typer.Option(
        _DEFAULTS["crop_balance"],
        help="U-BARN crops around classes drawn as (pixel count)^(1 - balance); 1: every "
        "class as often, as the forest samples its pixels.",
    ),
    ema_decay: float = typer.Option(
        _DEFAULTS["ema_decay"],
        help="U-BARN validates, keeps and maps a moving average of its weights of this decay "
        "per step (0.99 for runs of several hundred steps); 0: the trained weights.",
    ),
    logit_adjustment: bool = typer.Option(
        _DEFAULTS["logit_adjustment"], help="U-BARN's class prior adjusted on validation."
    ),
    corpus: list[str] = typer.Option(
        [],
        help="Another dataset (name or id) whose images, reviewed or not, join the "
        "pre-training; repeat for several.",
    ),
    corpus_set: list[int] = typer.Option(
        [],
        help="A pre-training corpus frozen before (training set id), reused image for "
        "image; repeat for several.",
    ),
) -> None:
    """Run the whole comparison (RF, U-BARN scratch, pre-trained + fine-tuned); print the table.

    The options are the launch form's, with its defaults; class and crop balance, EMA decay
    and logit adjustment apply to the runs from scratch and fine-tuned (the pre-training
    reads no labels), ``--corpus`` and ``--corpus-set`` to the pre-training only.
    """
    from ml.context import LocalContext
    from ml.experiment import run

    settings = get_settings()
    with get_sessionmaker()() as session:
        row, *others = (_dataset(session, name) for name in [dataset, *corpus])
        config = {
            "label_fraction": label_fraction, "epochs": epochs, "pretrain_epochs": pretrain_epochs,
            "model": model, "seed": seed, "device": device, "mask_clouds": mask_clouds,
            "encoder_norm": encoder_norm, "class_balance": class_balance,
            "crop_balance": crop_balance, "ema_decay": ema_decay,
            "logit_adjustment": logit_adjustment,
        }  # fmt: skip
        config = {key: value for key, value in config.items() if value is not None}
        try:
            checked = job_service.validate_params(
                "compare",
                {"dataset_id": row.id, **config, "seeds": seeds,
                 "include_unreviewed": include_unreviewed,
                 "corpus_dataset_ids": [other.id for other in others],
                 "corpus_training_set_ids": corpus_set},
            )  # fmt: skip
            if checked["seeds"]:
                config["seeds"] = checked["seeds"]
            with committed_with_snapshots(session):
                training_set, frozen = job_service.freeze_sources(
                    session=session, settings=settings, params=checked
                )
                session.commit()
            config["corpus"] = [str(settings.path(extra.file)) for extra in frozen]
        except DomainError as exc:
            console.print(f"[red]{exc.message}[/red] {exc.detail or ''}")
            raise typer.Exit(2) from None
    folder = settings.path(f"experiments/{training_set.id}")
    ctx = LocalContext(checkpoint_dir=folder / "checkpoints", out_dir=folder / "out")
    result = run(ctx, snapshot=settings.path(training_set.file), config=config)
    table = Table("run", "OA", "kappa", "mean F1", "mIoU", "train s", "McNemar p vs RF")
    for r in result["table"]:
        cells = [
            r["oa"],
            r["kappa"],
            r["mean_f1"],
            r["miou"],
            r["fit_seconds"],
            r["mcnemar_p_vs_rf"],
        ]
        table.add_row(r["run"], *("–" if v is None else f"{v:.3g}" for v in cells))
    console.print(
        f"Training set {training_set.id}: {training_set.n_patches} patches; outputs in {folder}"
    )
    wide = Console(width=max(console.width, 120))  # one line per run, even if narrow
    wide.print(table)
    if result["summary"]:
        wide.print(_summary_table(result["summary"]))


def _dataset(session: Session, name: str) -> Dataset:
    """The dataset of this name, or id; exits with a message when there is none."""
    wanted = Dataset.name == name
    if name.isdigit():
        wanted = wanted | (Dataset.id == int(name))
    row = session.scalars(select(Dataset).where(wanted)).first()
    if row is None:
        console.print(f"[red]No dataset {name!r}.[/red]")
        raise typer.Exit(2)
    return row


def _summary_table(summary: list[dict[str, Any]]) -> Table:
    """Mean ± sd over the seeds, and the paired mean-F1 differences with their wins."""
    from ml.experiment import spread_text

    table = Table("run", "seeds", "OA", "kappa", "mean F1", "mIoU", "mean F1 − RF",
                  "mean F1 − scratch", title="Over the seeds: mean ± sd")  # fmt: skip
    for entry in summary:
        differences = [
            f"{spread_text(d, signed=True)} ({d['wins']}/{d['n']} > 0)" if d else "–"
            for d in (entry["mean_f1_minus"].get(k) for k in ("rf", "scratch"))
        ]
        metrics = [spread_text(entry[k]) for k in ("oa", "kappa", "mean_f1", "miou")]
        table.add_row(entry["stage"], str(entry["n_seeds"]), *metrics, *differences)
    return table


def register(root: typer.Typer) -> None:
    """Add these commands to the main app."""
    root.command()(worker)
    root.command()(experiment)
    root.add_typer(app, name="jobs")
