"""Ingest a dataset from the PASTIS or GeoTIFF layout into the patch store and the database.

Everything is validated before anything is written (ml.data.layouts.scan). With
`strict`, one bad patch refuses the whole ingest; otherwise good patches go in and bad
ones are reported. Re-ingesting the same dataset adds only the patches that are new.
If writing fails half-way, the transaction is rolled back and the files written by this
ingest are removed, so a failed ingest leaves nothing behind.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.errors import Conflict, Invalid
from backend.models import Dataset, LabelRevision, Patch
from backend.services import nomenclatures
from ml.data import layouts, store

Progress = Callable[[int, int], None]
SCENE_FOLDER = "scene"  # whole-scene rasters beside the patches (docs/data-format.md)


@dataclass
class IngestReport:
    """What an ingest did: counts, and each refused patch with its reason."""

    dataset_id: int | None
    dataset_name: str
    added: int = 0
    already_present: int = 0
    problems: list[layouts.PatchProblem] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON form for the API and the CLI."""
        return {
            "dataset_id": self.dataset_id,
            "dataset_name": self.dataset_name,
            "added": self.added,
            "already_present": self.already_present,
            "problems": [{"patch_id": p.patch_id, "reason": p.reason} for p in self.problems],
        }


class IngestRefused(Invalid):
    """Strict ingest found bad patches: nothing was written."""


def ingest(
    *,
    session: Session,
    path: Path,
    format: str | None = None,
    strict: bool = False,
    name: str | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Validate then store every good patch of the dataset at `path`."""
    try:
        scan = layouts.scan(Path(path), format=format)
    except ValueError as exc:
        raise Invalid(f"Cannot read this dataset: {exc}") from exc
    dataset_name = name or scan.name
    report = IngestReport(dataset_id=None, dataset_name=dataset_name, problems=list(scan.problems))
    if strict and scan.problems:
        raise IngestRefused(
            f"Strict ingest refused: {len(scan.problems)} bad patch(es), nothing was written.",
            problems=report.as_dict()["problems"],
        )
    settings = get_settings()
    written: list[Path] = []
    try:
        dataset = _dataset_for(session=session, scan=scan, name=dataset_name)
        report.dataset_id = dataset.id
        known = set(
            session.scalars(select(Patch.external_id).where(Patch.dataset_id == dataset.id))
        )
        todo = [p for p in scan.patches if p.id not in known]
        report.already_present = len(scan.patches) - len(todo)
        for done, scanned in enumerate(todo, start=1):
            written.extend(_store_patch(session=session, dataset=dataset, scanned=scanned))
            report.added += 1
            if progress:
                progress(done, len(todo))
        scene = Path(path) / SCENE_FOLDER
        if (scene / "series.tif").exists() and dataset.scene_dir is None:
            target = Path("scenes") / str(dataset.id)
            shutil.copytree(scene, settings.path(target), dirs_exist_ok=True)
            written.append(settings.path(target))
            dataset.scene_dir = str(target)
        session.commit()
    except BaseException:
        session.rollback()
        for item in written:
            shutil.rmtree(item, ignore_errors=True) if item.is_dir() else item.unlink(
                missing_ok=True
            )
        raise
    return report


def _dataset_for(*, session: Session, scan: layouts.DatasetScan, name: str) -> Dataset:
    """The dataset of that name (same nomenclature required), created when new."""
    nomenclature = nomenclatures.get_or_create(session=session, nomenclature=scan.nomenclature)
    dataset = session.scalar(select(Dataset).where(Dataset.name == name))
    if dataset is None:
        dataset = Dataset(
            name=name,
            nomenclature_id=nomenclature.id,
            format=scan.format,
            bands=list(scan.bands),
            crs=scan.patches[0].crs if scan.patches else None,
        )
        session.add(dataset)
        session.flush()
    elif dataset.nomenclature_id != nomenclature.id:
        raise Conflict(
            f"Dataset {name!r} exists with another nomenclature; ingest under another --name."
        )
    return dataset


def _store_patch(
    *, session: Session, dataset: Dataset, scanned: layouts.ScannedPatch
) -> list[Path]:
    """Write one patch's arrays and first label revision; return the folders written."""
    settings = get_settings()
    data, labels, reference = scanned.load()
    patch = Patch(
        dataset_id=dataset.id,
        external_id=scanned.id,
        tile=scanned.tile,
        footprint=scanned.footprint_wgs84,
        crs=scanned.crs,
        bounds=list(scanned.bounds),
        height=scanned.height,
        width=scanned.width,
        dates=[d.isoformat() for d in scanned.dates],
        bands=list(data.bands),
        split=scanned.split or "train",
        block=scanned.block,
        store_dir="",
    )
    session.add(patch)
    session.flush()
    patch_dir = Path("patches") / str(patch.id)
    label_dir = Path("labels") / str(patch.id)
    patch.store_dir = str(patch_dir)
    store.write_patch(settings.path(patch_dir), data)
    store.write_label(settings.path(label_dir / "1.tif"), labels, data.crs, data.transform)
    if reference is not None:
        store.write_label(
            settings.path(label_dir / "reference.tif"), reference, data.crs, data.transform
        )
        patch.reference_file = str(label_dir / "reference.tif")
    session.add(
        LabelRevision(patch_id=patch.id, version=1, source="ingest", file=str(label_dir / "1.tif"))
    )
    return [settings.path(patch_dir), settings.path(label_dir)]
