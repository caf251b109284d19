"""Ingest: good datasets go in once; bad patches are reported; strict refuses everything."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.errors import Invalid
from backend.models import Dataset, LabelRevision, Patch
from backend.services.ingest import IngestRefused, ingest
from ml.data import store


def _counts(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(Dataset)),
        session.scalar(select(func.count()).select_from(Patch)),
        session.scalar(select(func.count()).select_from(LabelRevision)),
    )


def _files(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.rglob("*") if p.is_file() and "sitslab.db" not in p.name)


def _broken_copy(source: Path, tmp_path: Path) -> tuple[Path, dict]:
    copy = tmp_path / "broken"
    shutil.copytree(source, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    return copy, manifest


def test_ingest_stores_arrays_labels_and_metadata(session: Session, synthetic_source: Path) -> None:
    report = ingest(session=session, path=synthetic_source, format="geotiff", name="tiny")
    assert report.added == 4 and report.problems == []
    patch = session.scalars(select(Patch).order_by(Patch.id)).first()
    assert patch.footprint["type"] == "Polygon"
    assert patch.height == patch.width == 32 and len(patch.dates) == 6
    assert patch.dates == sorted(patch.dates)
    assert patch.split in {"train", "val", "test"}
    data = store.read_patch(get_settings().path(patch.store_dir))
    assert data.series.shape == (6, 10, 32, 32) and data.series.dtype == np.int16
    revision = patch.revisions[0]
    assert revision.version == 1 and revision.source == "ingest"
    labels = store.read_label(get_settings().path(revision.file))
    assert labels.shape == (32, 32)
    assert patch.reference_file is not None
    dataset = session.get(Dataset, report.dataset_id)
    assert dataset.scene_dir is not None
    assert (get_settings().path(dataset.scene_dir) / "series.tif").exists()


def test_reingesting_is_idempotent(session: Session, synthetic_source: Path) -> None:
    ingest(session=session, path=synthetic_source, name="tiny")
    before = _counts(session)
    again = ingest(session=session, path=synthetic_source, name="tiny")
    assert again.added == 0 and again.already_present == 4
    assert _counts(session) == before


def _corrupt_image(copy: Path, manifest: dict) -> str:
    entry = manifest["patches"][0]
    (copy / entry["image"]).write_bytes(b"this is not a GeoTIFF")
    return entry["id"]


def _unknown_class(copy: Path, manifest: dict) -> str:
    entry = manifest["patches"][1]
    with rasterio.open(copy / entry["label"], "r+") as dst:
        labels = dst.read(1)
        labels[0, 0] = 99
        dst.write(labels, 1)
    return entry["id"]


def _unsorted_dates(copy: Path, manifest: dict) -> str:
    entry = manifest["patches"][2]
    entry["dates"] = list(reversed(manifest["dates"]))
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return entry["id"]


@pytest.mark.parametrize("breaker", [_corrupt_image, _unknown_class, _unsorted_dates])
def test_strict_ingest_refuses_everything_and_writes_nothing(
    session: Session, synthetic_source: Path, tmp_path: Path, data_dir: Path, breaker
) -> None:
    copy, manifest = _broken_copy(synthetic_source, tmp_path)
    bad_id = breaker(copy, manifest)
    before_rows, before_files = _counts(session), _files(data_dir)
    with pytest.raises(IngestRefused) as refused:
        ingest(session=session, path=copy, strict=True)
    assert {p["patch_id"] for p in refused.value.detail["problems"]} == {bad_id}
    assert _counts(session) == before_rows
    assert _files(data_dir) == before_files


def test_lenient_ingest_takes_good_patches_and_lists_bad_ones(
    session: Session, synthetic_source: Path, tmp_path: Path
) -> None:
    copy, manifest = _broken_copy(synthetic_source, tmp_path)
    bad_id = _unknown_class(copy, manifest)
    report = ingest(session=session, path=copy)
    assert report.added == 3
    assert [p.patch_id for p in report.problems] == [bad_id]
    assert "99" in report.problems[0].reason
    ids = set(session.scalars(select(Patch.external_id)))
    assert bad_id not in ids and len(ids) == 3


def test_a_folder_that_is_no_dataset_is_refused(session: Session, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(Invalid, match="Cannot read this dataset"):
        ingest(session=session, path=tmp_path / "empty")
    assert _counts(session) == (0, 0, 0)
