"""Exports: CSV columns, GeoPackage read back, label GeoTIFFs equal the current revisions,
one consistent moment of the database, bad input refused."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyogrio import raw
from shapely import from_wkb
from shapely.geometry import shape
from sqlalchemy import func, select

from backend import db
from backend.config import get_settings
from backend.errors import Invalid, NotFound
from backend.models import Decision, Patch
from backend.services.export import export, read_snapshot
from backend.services.export_writers import DECISION_FIELDS, PATCH_FIELDS
from ml.data import layouts, store
from tests.quality_data import correct, judge, label_of, make_dataset


def data_dir_path(patch: Patch) -> Path:
    """The store folder of a patch."""
    return get_settings().path(patch.store_dir)


@pytest.fixture
def reviewed(session, make_user):  # noqa: ANN001, ANN201
    """Four patches: accepted, corrected, rejected, unreviewed; one reviewer does it all."""
    dataset = make_dataset(session, n_patches=4)
    reviewer = make_user("rev", "reviewer")
    patches = sorted(dataset.patches, key=lambda p: p.id)
    judge(session, reviewer, patches[0].id, "accept")
    fixed = label_of(session, patches[1]).copy()
    fixed[:4, :4] = 17
    correct(session, reviewer, patches[1], fixed)
    judge(session, reviewer, patches[2].id, "reject")
    return dataset, patches, fixed


def _zip(path: Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(path)


def test_csv_has_every_patch_and_decision(reviewed, data_dir: Path) -> None:  # noqa: ANN001
    dataset, patches, _ = reviewed
    path = export(formats=["csv"])
    assert path.parent == (data_dir / "exports").resolve() and path.suffix == ".zip"
    with _zip(path) as zf:
        rows = list(csv.DictReader(io.TextIOWrapper(zf.open("patches.csv"), encoding="utf-8")))
        decisions = list(
            csv.DictReader(io.TextIOWrapper(zf.open("decisions.csv"), encoding="utf-8"))
        )
        summary = json.loads(zf.read("export.json"))
        assert "validation.gpkg" not in zf.namelist()
    assert tuple(rows[0]) == PATCH_FIELDS and tuple(decisions[0]) == DECISION_FIELDS
    by_id = {r["external_id"]: r for r in rows}
    assert [by_id[p.external_id]["status"] for p in patches] == [
        "accepted",
        "corrected",
        "rejected",
        "unreviewed",
    ]
    assert by_id[patches[1].external_id]["current_version"] == "2"
    assert by_id[patches[1].external_id]["annotators"] == "rev"
    assert [d["kind"] for d in decisions] == ["accept", "correct", "reject"]
    assert decisions[1]["judged_version"] == "1" and decisions[1]["new_version"] == "2"
    assert summary["n_patches"] == 4 and summary["n_decisions"] == 3


def test_geopackage_reads_back_with_footprints_and_attributes(reviewed, tmp_path: Path) -> None:  # noqa: ANN001
    _, patches, _ = reviewed
    path = export(formats=["gpkg"], out=tmp_path / "out.zip")
    with _zip(path) as zf:
        zf.extract("validation.gpkg", tmp_path)
    gpkg = tmp_path / "validation.gpkg"
    meta, _, geometry, values = raw.read(gpkg, layer="patches")
    assert meta["crs"] == "EPSG:4326"
    table = dict(zip(meta["fields"], values, strict=True))
    order = list(table["external_id"])
    for patch in patches:
        i = order.index(patch.external_id)
        assert from_wkb(geometry[i]).equals(shape(patch.footprint))
        assert table["status"][i] == patch.status
        assert table["split"][i] == patch.split
    i = order.index(patches[0].external_id)
    assert table["n_decisions"][i] == 1 and table["last_decision"][i] == "accept"
    assert table["current_version"][i] == 1
    meta, _, geometry, values = raw.read(gpkg, layer="decisions")
    assert geometry is None and len(values[0]) == 3


def test_label_geotiffs_equal_current_revisions(reviewed, session, tmp_path: Path) -> None:  # noqa: ANN001
    dataset, patches, fixed = reviewed
    path = export(formats=["labels"], out=tmp_path / "labels.zip", dataset=dataset.name)
    with _zip(path) as zf:
        zf.extractall(tmp_path / "x")
    root = tmp_path / "x" / "labels" / dataset.name
    manifest = json.loads((root / "manifest.json").read_text())
    ids = [e["id"] for e in manifest["patches"]]
    assert ids == [patches[0].external_id, patches[1].external_id]  # validated ones only
    assert (
        manifest["format"] == "sitslab-geotiff" and manifest["nomenclature"]["name"] == "oso-2018"
    )
    for entry, expected in zip(
        manifest["patches"], [label_of(session, patches[0]), fixed], strict=True
    ):
        with rasterio.open(root / entry["label"]) as src:
            assert np.array_equal(src.read(1), expected)
            assert src.crs.to_string() == "EPSG:32631"
    assert manifest["patches"][1]["label_version"] == 2
    # the folder is a dataset in the GeoTIFF layout: it reads back with the same series and labels
    scan = layouts.scan(root)
    assert not scan.problems and [p.id for p in scan.patches] == ids
    data, labels, _ = scan.patches[1].load()
    original = store.read_patch(data_dir_path(patches[1]))
    assert np.array_equal(labels, fixed) and np.array_equal(data.series, original.series)
    assert [p.split for p in scan.patches] == [patches[0].split, patches[1].split]


def test_bad_input_writes_nothing(reviewed, data_dir: Path) -> None:  # noqa: ANN001
    with pytest.raises(Invalid, match="format"):
        export(formats=["shapefile"])
    with pytest.raises(NotFound, match="nowhere"):
        export(dataset="nowhere")
    assert not (data_dir / "exports").exists() or not any((data_dir / "exports").iterdir())


def test_snapshot_does_not_see_later_writes(any_database: str, make_user) -> None:  # noqa: ANN001
    with db.get_sessionmaker()() as session:
        dataset = make_dataset(session, n_patches=2)
        user = make_user("rev", "reviewer")
        first = sorted(p.id for p in dataset.patches)
        judge(session, user, first[0], "accept")
    with read_snapshot(db.get_engine()) as snap:
        before = snap.scalar(select(func.count()).select_from(Decision))
        with db.get_sessionmaker()() as other:
            judge(other, other.get(type(user), user.id), first[1], "reject")
        assert snap.scalar(select(func.count()).select_from(Decision)) == before == 1
        assert snap.get(Patch, first[1]).status == "unreviewed"
    with db.get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).select_from(Decision)) == 2


def test_cli_export(reviewed, tmp_path: Path) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from backend.cli import app

    dataset = reviewed[0]
    out = tmp_path / "cli.zip"
    result = CliRunner().invoke(
        app, ["export", "--dataset", dataset.name, "--out", str(out), "--format", "csv,gpkg"]
    )
    assert result.exit_code == 0, result.output
    assert {"patches.csv", "decisions.csv", "validation.gpkg"} <= set(
        zipfile.ZipFile(out).namelist()
    )
    bad = CliRunner().invoke(app, ["export", "--format", "pdf", "--out", str(tmp_path / "bad.zip")])
    assert bad.exit_code == 2 and "Unknown export format" in bad.output
    assert not (tmp_path / "bad.zip").exists()
