"""Training-set versions: a frozen snapshot of which patches and which label revisions.

A run must stay reproducible after more labels are validated or corrected, so launching
a run freezes the current state: each selected patch with its CURRENT label revision
(highest version). The snapshot file follows ml.data.snapshot (paths relative to its
folder) and also records each patch's revision id and version, so a run's page can say
exactly which labels it learnt from.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.errors import Conflict, Invalid, NotFound
from backend.models import (
    Dataset,
    LabelRevision,
    Nomenclature,
    Patch,
    PatchStatus,
    Run,
    TrainingSet,
    TrainingSetPurpose,
)
from backend.schemas.training_sets import TrainingSetOut
from backend.services.nomenclatures import to_ml
from ml.data.snapshot import SNAPSHOT_VERSION

DEFAULT_STATUSES = (PatchStatus.accepted.value, PatchStatus.corrected.value)
SNAPSHOT_DIR = "snapshots"
CORPUS_FIELD = "corpus_dataset_ids"
CORPUS_SETS = "corpus_training_set_ids"
"""A pre-training corpus frozen before, reused as it was; a launched job keeps there its
whole corpus (these and those frozen from ``CORPUS_FIELD``), which the worker turns into
snapshot files (``worker.specs``)."""
UNCOMMITTED_FILES = "uncommitted_snapshot_files"
"""``Session.info`` key: the snapshot files written since the session's last commit."""


@contextmanager
def committed_with_snapshots(session: Session) -> Iterator[None]:
    """The block freezes training sets and commits them; if it fails, the session rolls
    back and the snapshot files the block wrote are deleted, so no file outlives its row.

    On SQLite a later training set would get the same id and overwrite such a file; on
    PostgreSQL, whose sequences never hand an id out twice, it would stay forever.
    """
    try:
        yield
    except BaseException:
        session.rollback()
        for path in session.info.pop(UNCOMMITTED_FILES, []):
            path.unlink(missing_ok=True)
        raise
    session.info.pop(UNCOMMITTED_FILES, None)


def create_training_set(
    *,
    session: Session,
    settings: Settings,
    dataset_id: int,
    statuses: Iterable[str] = DEFAULT_STATUSES,
    include_unreviewed: bool = False,
    name: str | None = None,
    created_by: int | None = None,
    needs: tuple[str, ...] = ("train", "test"),
    purpose: TrainingSetPurpose = TrainingSetPurpose.labels,
    commit: bool = True,
) -> TrainingSet:
    """Snapshot a dataset's patches with the chosen statuses; commit and return the row.

    Args:
        dataset_id: the dataset to snapshot.
        statuses: patch statuses to include (default: accepted and corrected).
        include_unreviewed: also include patches nobody reviewed yet.
        needs: splits the snapshot must have a patch in (none for a pre-training corpus,
            whose patches all go to train).
        purpose: labels, or a pre-training corpus (which only a pre-training may read).
        commit: False to leave the row to the caller's transaction, in a
            ``committed_with_snapshots`` block (a job's launch commits its training sets
            with the job, so a failure leaves neither rows nor files without a job).

    Raises:
        NotFound: no such dataset.
        Invalid: no patch matches, or the snapshot lacks a patch in a split it needs.
    """
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"No dataset with id {dataset_id}.")
    wanted = sorted(
        {str(s) for s in statuses}
        | ({PatchStatus.unreviewed.value} if include_unreviewed else set())
    )
    unknown = set(wanted) - {s.value for s in PatchStatus}
    if unknown:
        raise Invalid(f"Unknown patch statuses: {', '.join(sorted(unknown))}.")
    current = (
        select(LabelRevision.patch_id, func.max(LabelRevision.version).label("version"))
        .group_by(LabelRevision.patch_id)
        .subquery()
    )
    rows = session.execute(
        select(Patch, LabelRevision)
        .join(current, current.c.patch_id == Patch.id)
        .join(
            LabelRevision,
            (LabelRevision.patch_id == Patch.id) & (LabelRevision.version == current.c.version),
        )
        .where(Patch.dataset_id == dataset_id, Patch.status.in_(wanted))
        .order_by(Patch.id)
    ).all()
    if not rows:
        raise Invalid(
            f"Dataset {dataset.name!r} has no labelled patch with status {', '.join(wanted)}: "
            "validate some patches first, or include unreviewed ones.",
            field="statuses",
        )
    splits = {patch.split for patch, _ in rows}
    missing = set(needs) - splits
    if missing:
        raise Invalid(
            f"The selected patches have no {' and no '.join(sorted(missing))} patch; "
            "include more statuses.",
            field="statuses",
        )
    nomenclature = to_ml(session.get(Nomenclature, dataset.nomenclature_id))
    training_set = TrainingSet(
        dataset_id=dataset_id,
        name=name or f"{dataset.name} ({', '.join(wanted)})",
        file="",
        n_patches=len(rows),
        statuses=wanted,
        purpose=purpose.value,
        created_by=created_by,
    )
    session.add(training_set)
    session.flush()
    relative = f"{SNAPSHOT_DIR}/{training_set.id}.json"
    path = settings.path(relative)
    _write_snapshot(path, settings, training_set.id, nomenclature.to_dict(), dataset.bands, rows)
    session.info.setdefault(UNCOMMITTED_FILES, []).append(path)
    training_set.file = relative
    if not commit:
        session.flush()
        return training_set
    with committed_with_snapshots(session):
        session.commit()
    return training_set


CORPUS_STATUSES = tuple(s.value for s in PatchStatus if s is not PatchStatus.rejected)
"""A pre-training corpus reads no labels, so every patch counts whatever its review, except
the rejected ones (a patch can be rejected for its image)."""


def check_corpus(
    *,
    session: Session,
    dataset_ids: list[int],
    training_set_ids: list[int],
    labelled_dataset_id: int,
) -> None:
    """Refuse a pre-training corpus before anything is written: datasets to freeze now
    (``CORPUS_FIELD``) and corpora frozen before (``CORPUS_SETS``).

    Raises:
        NotFound: no such dataset or training set (the labelled dataset included).
        Invalid: the labelled dataset itself, one dataset twice, other bands, no patch to
            learn from, or a training set of labels.
    """
    labelled = session.get(Dataset, labelled_dataset_id)
    if labelled is None:
        raise NotFound(f"No dataset with id {labelled_dataset_id}.", field="dataset_id")
    sources = [(_corpus_dataset(session, i), CORPUS_FIELD) for i in dataset_ids]
    sources += [(_frozen_corpus_dataset(session, i), CORPUS_SETS) for i in training_set_ids]
    seen: set[int] = set()
    for dataset, field in sources:
        if dataset.id == labelled_dataset_id:
            raise Invalid(
                f"Dataset {dataset.name!r} is the labelled one, whose train split is "
                "pre-trained on already; choose other datasets for the corpus.",
                field=field,
            )
        if dataset.id in seen:
            raise Invalid(
                f"Dataset {dataset.name!r} would be in the corpus twice: keep either the "
                "dataset or one of the corpora frozen from it.",
                field=field,
            )
        seen.add(dataset.id)
        if list(dataset.bands) != list(labelled.bands):
            raise Invalid(
                f"Dataset {dataset.name!r} has bands {', '.join(dataset.bands)}; the "
                f"pre-training reads {', '.join(labelled.bands)}, in that order.",
                field=field,
            )


def _corpus_dataset(session: Session, dataset_id: int) -> Dataset:
    """A dataset to freeze into a corpus, which must have a patch to learn from."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"No dataset with id {dataset_id}.", field=CORPUS_FIELD)
    usable = session.scalar(
        select(func.count())
        .select_from(Patch)
        .where(Patch.dataset_id == dataset_id, Patch.status.in_(CORPUS_STATUSES))
    )
    if not usable:
        raise Invalid(
            f"Dataset {dataset.name!r} has no patch to learn from (none, or all rejected).",
            field=CORPUS_FIELD,
        )
    return dataset


def _frozen_corpus_dataset(session: Session, training_set_id: int) -> Dataset:
    """The dataset of a corpus frozen before, which must be a corpus, not labels."""
    frozen = session.get(TrainingSet, training_set_id)
    if frozen is None:
        raise NotFound(f"No training set with id {training_set_id}.", field=CORPUS_SETS)
    if frozen.purpose != TrainingSetPurpose.corpus:
        raise Invalid(
            f"Training set #{frozen.id} {frozen.name!r} holds labels, not a pre-training "
            "corpus; to learn from its dataset's images, choose the dataset instead.",
            field=CORPUS_SETS,
        )
    return session.get(Dataset, frozen.dataset_id)


def create_corpus(
    *,
    session: Session,
    settings: Settings,
    dataset_ids: list[int],
    created_by: int | None = None,
    commit: bool = True,
) -> list[TrainingSet]:
    """Freeze other datasets' images as a pre-training corpus, one training set each
    (``check_corpus`` first; ``commit`` as ``create_training_set``'s)."""
    return [
        create_training_set(
            session=session,
            settings=settings,
            dataset_id=dataset_id,
            statuses=CORPUS_STATUSES,
            name=f"{session.get(Dataset, dataset_id).name} (images for pre-training)",
            created_by=created_by,
            needs=(),
            purpose=TrainingSetPurpose.corpus,
            commit=commit,
        )
        for dataset_id in dataset_ids
    ]


def _write_snapshot(
    path: Path,
    settings: Settings,
    training_set_id: int,
    nomenclature: dict,
    bands: list,
    rows: list,
) -> None:
    """The snapshot JSON (ml.data.snapshot format + revision ids), written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = path.parent.resolve()

    def rel(stored: str) -> str:
        return os.path.relpath(settings.path(stored), root)

    data = {
        "version": SNAPSHOT_VERSION,
        "id": str(training_set_id),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "nomenclature": nomenclature,
        "bands": list(bands),
        "patches": [
            {
                "id": patch.external_id,
                "dir": rel(patch.store_dir),
                "label": rel(revision.file),
                "split": patch.split,
                "block": patch.block or "",
                "patch_id": patch.id,
                "revision_id": revision.id,
                "revision": revision.version,
            }
            for patch, revision in rows
        ],
    }
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def has_snapshot_file(*, settings: Settings, training_set: TrainingSet) -> bool:
    """Whether the set's snapshot file is still in the data folder (a menu greys it out)."""
    return settings.path(training_set.file).is_file()


def require_snapshot_file(
    *, settings: Settings, training_set: TrainingSet, field: str | None = None
) -> Path:
    """The training set's snapshot file; Conflict when it is gone from the data folder.

    The row says how many patches were frozen, only the file which ones at which revision:
    a set whose file was deleted can be neither read by a run nor shown.
    """
    path = settings.path(training_set.file)
    if not path.is_file():
        detail = {"field": field} if field else {}
        raise Conflict(
            f"Training set #{training_set.id} {training_set.name!r} has lost its snapshot "
            f"file ({training_set.file} in the data folder), the list of the patches and "
            "label revisions it froze; freeze a new one from its dataset.",
            **detail,
        )
    return path


def snapshot_revisions(*, settings: Settings, training_set: TrainingSet) -> list[dict]:
    """[{patch_id, id (external), revision_id, revision, split}] recorded in a snapshot."""
    path = require_snapshot_file(settings=settings, training_set=training_set)
    data = json.loads(path.read_text())
    keys = ("patch_id", "id", "revision_id", "revision", "split")
    return [{k: p.get(k) for k in keys} for p in data["patches"]]


def frozen_against_now(
    *, session: Session, settings: Settings, training_set: TrainingSet
) -> list[dict]:
    """Each patch the set froze (``snapshot_revisions``) beside its review now: its status,
    its current label revision and whether that is newer than the one frozen ("changed"),
    so that a page can say which labels were corrected since the set was frozen.
    """
    now = {
        patch_id: (status, version)
        for patch_id, status, version in session.execute(
            select(Patch.id, Patch.status, func.max(LabelRevision.version))
            .join(LabelRevision, LabelRevision.patch_id == Patch.id)
            .where(Patch.dataset_id == training_set.dataset_id)
            .group_by(Patch.id, Patch.status)
        )
    }
    frozen = snapshot_revisions(settings=settings, training_set=training_set)
    rows = []
    for patch in frozen:
        status, current = now.get(patch["patch_id"], (None, None))  # None: gone since
        changed = current is not None and current > patch["revision"]
        rows.append({**patch, "status": status, "current": current, "changed": changed})
    return rows


def runs_reading(*, session: Session, training_set_ids: list[int]) -> dict[int, list[Run]]:
    """The runs that read each training set, oldest first, in one query: trained on its
    labels and images, or pre-trained on it as a corpus (``CORPUS_SETS`` of a
    pre-training's params)."""
    reading: dict[int, list[Run]] = {i: [] for i in training_set_ids}
    candidates = select(Run).where(
        or_(Run.training_set_id.in_(training_set_ids), Run.kind == "pretrain")
    )
    for run in session.scalars(candidates.order_by(Run.id)):
        corpus = (run.params.get(CORPUS_SETS) or []) if run.kind == "pretrain" else []
        for training_set_id in {run.training_set_id, *corpus} & reading.keys():
            reading[training_set_id].append(run)
    return reading


def list_training_sets(
    *,
    session: Session,
    purpose: TrainingSetPurpose | None = None,
    dataset_id: int | None = None,
) -> list[TrainingSet]:
    """Training sets, newest first, of one purpose and one dataset when given."""
    query = select(TrainingSet).order_by(TrainingSet.id.desc())
    if purpose is not None:
        query = query.where(TrainingSet.purpose == purpose.value)
    if dataset_id is not None:
        query = query.where(TrainingSet.dataset_id == dataset_id)
    return list(session.scalars(query))


def training_set_out(*, session: Session, training_set: TrainingSet) -> TrainingSetOut:
    """The API's view of a training set, its dataset named."""
    return TrainingSetOut(
        id=training_set.id,
        name=training_set.name,
        dataset_id=training_set.dataset_id,
        dataset=session.get(Dataset, training_set.dataset_id).name,
        purpose=training_set.purpose,
        n_patches=training_set.n_patches,
        statuses=training_set.statuses,
        created_by=training_set.created_by,
        created_at=training_set.created_at,
    )


def get_training_set(*, session: Session, training_set_id: int) -> TrainingSet:
    """The training set, or NotFound."""
    training_set = session.get(TrainingSet, training_set_id)
    if training_set is None:
        raise NotFound(f"No training set with id {training_set_id}.")
    return training_set


def get_labels(*, session: Session, training_set_id: int) -> TrainingSet:
    """The training set of labels a job reads, or NotFound; Invalid for a pre-training
    corpus, whose labels nobody checked and which may lack a val or test patch."""
    training_set = get_training_set(session=session, training_set_id=training_set_id)
    if training_set.purpose != TrainingSetPurpose.labels:
        raise Invalid(
            f"Training set #{training_set.id} {training_set.name!r} is a pre-training corpus "
            "(images whose labels nobody checked); choose a training set of labels, or a "
            "dataset.",
            field="training_set_id",
        )
    return training_set
