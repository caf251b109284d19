"""Exports of the validation work: decisions and patch status (CSV, GeoPackage) and the
current validated labels as GeoTIFFs with a layout manifest, in one zip.

Every export is consistent with the database at one moment: all rows are read inside one
read transaction (REPEATABLE READ on PostgreSQL, one snapshot transaction on SQLite in WAL
mode), so decisions made while an export runs are either all in it or all out of it.
Label files are never overwritten (a correction is a new revision), so reading them after
the transaction still gives the revisions the snapshot names.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.db import get_engine
from backend.errors import Invalid, NotFound
from backend.models import Dataset, Decision, DecisionKind, LabelRevision, Nomenclature, Patch, User
from backend.services import export_writers as writers
from backend.services.agreement import JUDGEMENTS
from backend.services.nomenclatures import to_ml

FORMATS = ("csv", "gpkg", "labels")
VALIDATED = ("accepted", "corrected")
EXPORT_DIR = "exports"


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Session]:
    """A read-only session whose every query sees the database at one same moment."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # pysqlite only opens a transaction before writes; an explicit BEGIN pins the WAL
            # snapshot at the first read for every later read of this connection.
            conn.exec_driver_sql("BEGIN")
        else:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with Session(bind=conn) as session:
            try:
                yield session
            finally:
                session.rollback()
                conn.rollback()


@dataclass
class ExportData:
    """Everything an export writes, read in one transaction as plain values."""

    moment: datetime
    datasets: dict[int, Dataset]
    nomenclatures: dict[int, Any]
    patches: list[dict[str, Any]]
    decisions: list[dict[str, Any]]


def export(
    *,
    dataset: str | None = None,
    formats: Sequence[str] = FORMATS,
    out: Path | None = None,
    engine: Engine | None = None,
) -> Path:
    """Write an export zip and return its path (by default data_dir/exports/<timestamp>.zip).

    Args:
        dataset: export only the dataset of this name (default: all).
        formats: any of "csv", "gpkg", "labels".
        out: where to write the zip.
        engine: the database (default: the configured one).

    Raises:
        Invalid: unknown format. NotFound: unknown dataset.
    """
    formats = list(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise Invalid(f"Unknown export format(s) {unknown}; choose among {', '.join(FORMATS)}.")
    with read_snapshot(engine or get_engine()) as session:
        data = _read(session=session, dataset=dataset)
    settings = get_settings()
    stamp = data.moment.strftime("%Y%m%dT%H%M%S_%fZ")
    target = Path(out) if out is not None else settings.path(Path(EXPORT_DIR) / f"{stamp}.zip")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        written = _write(folder, data, formats)
        handle, partial = tempfile.mkstemp(dir=target.parent, suffix=".zip.part")
        os.close(handle)
        try:
            with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
                for path in written:
                    zf.write(path, path.relative_to(folder).as_posix())
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return target


def _write(folder: Path, data: ExportData, formats: list[str]) -> list[Path]:
    written = [writers.write_summary(folder, data.moment, formats, data.patches, data.decisions)]
    if "csv" in formats:
        written += writers.write_csv(folder, data.patches, data.decisions)
    if "gpkg" in formats:
        written.append(writers.write_gpkg(folder, data.patches, data.decisions))
    if "labels" in formats:
        validated = [p for p in data.patches if p["status"] in VALIDATED]
        for dataset_id, dataset in data.datasets.items():
            mine = [p for p in validated if p["dataset_id"] == dataset_id]
            written += writers.write_labels(
                folder / "labels" / dataset.name, dataset, data.nomenclatures[dataset_id], mine
            )
    return written


def _read(*, session: Session, dataset: str | None) -> ExportData:
    moment = datetime.now(UTC)
    query = select(Dataset)
    if dataset is not None:
        query = query.where(Dataset.name == dataset)
    datasets = {d.id: d for d in session.scalars(query)}
    if dataset is not None and not datasets:
        raise NotFound(f"No dataset named {dataset!r}.")
    nomenclatures = {
        i: to_ml(session.get(Nomenclature, d.nomenclature_id)) for i, d in datasets.items()
    }
    users = dict(session.execute(select(User.id, User.username)).all())
    patches = list(
        session.scalars(select(Patch).where(Patch.dataset_id.in_(datasets)).order_by(Patch.id))
    )
    revisions = {
        r.id: r
        for r in session.scalars(
            select(LabelRevision).join(Patch).where(Patch.dataset_id.in_(datasets))
        )
    }
    current: dict[int, LabelRevision] = {}
    for r in revisions.values():
        if r.patch_id not in current or r.version > current[r.patch_id].version:
            current[r.patch_id] = r
    decisions = list(
        session.scalars(
            select(Decision).join(Patch).where(Patch.dataset_id.in_(datasets)).order_by(Decision.id)
        )
    )
    by_id = {p.id: p for p in patches}
    per_patch: dict[int, list[Decision]] = defaultdict(list)
    for d in decisions:
        per_patch[d.patch_id].append(d)
    decision_rows = [
        _decision_row(d, by_id[d.patch_id], datasets, users, revisions) for d in decisions
    ]
    patch_rows = [
        _patch_row(p, datasets, users, current.get(p.id), per_patch[p.id]) for p in patches
    ]
    for d in datasets.values():
        session.expunge(d)
    return ExportData(moment, datasets, nomenclatures, patch_rows, decision_rows)


def _version(revisions: dict[int, LabelRevision], revision_id: int | None) -> int | None:
    return revisions[revision_id].version if revision_id in revisions else None


def _decision_row(
    d: Decision, patch: Patch, datasets: dict[int, Dataset], users: dict[int, str], revisions: dict
) -> dict[str, Any]:
    return {
        "decision_id": d.id,
        "dataset": datasets[patch.dataset_id].name,
        "patch_id": d.patch_id,
        "external_id": patch.external_id,
        "campaign_id": d.campaign_id,
        "user": users.get(d.user_id),
        "kind": d.kind,
        "judged_version": _version(revisions, d.label_revision_id),
        "new_version": _version(revisions, d.new_revision_id),
        "undoes_id": d.undoes_id,
        "comment": d.comment,
        "confidence": d.confidence,
        "time_spent_ms": d.time_spent_ms,
        "view": d.view,
        "date_shown": d.date_shown,
        "created_at": d.created_at.isoformat(),
    }


def _patch_row(
    p: Patch,
    datasets: dict[int, Dataset],
    users: dict[int, str],
    current: LabelRevision | None,
    mine: list[Decision],
) -> dict[str, Any]:
    undone = {d.undoes_id for d in mine if d.kind == DecisionKind.undo}
    standing = [d for d in mine if d.kind in JUDGEMENTS and d.id not in undone]
    last = standing[-1] if standing else None
    return {
        "patch_id": p.id,
        "dataset_id": p.dataset_id,
        "dataset": datasets[p.dataset_id].name,
        "external_id": p.external_id,
        "status": p.status,
        "split": p.split,
        "block": p.block,
        "tile": p.tile,
        "suspicion": p.suspicion,
        "n_decisions": len(standing),
        "last_decision": last.kind if last else None,
        "last_decision_at": last.created_at.isoformat() if last else None,
        "annotators": ",".join(sorted({users.get(d.user_id, "?") for d in standing})),
        "current_version": current.version if current else None,
        "current_file": current.file if current else None,
        "store_dir": p.store_dir,
        "footprint": p.footprint,
        "crs": p.crs,
        "dates": list(p.dates),
    }
