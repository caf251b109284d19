"""Patches acquired from several relative orbits: each swath on its own calendar."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio

from ml.context import LocalContext
from ml.data.layouts import scan
from ml.data.snapshot import TrainingSet, make_training_set
from ml.data.store import read_patch
from ml.data.synthetic import generate
from ml.data.synthetic.orbits import swath_orbits
from ml.data.synthetic.records import patch_window
from ml.models.registry import load_predictor
from ml.rf import train_run
from ml.train import finetune

SETTINGS = {"n_patches": 9, "patch_size": 16, "n_dates": 6, "seed": 2}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same scene acquired from one orbit and from two (3 × 3 patches)."""
    root = tmp_path_factory.mktemp("orbits")
    generate(root / "one", **SETTINGS)
    generate(root / "two", **SETTINGS, orbits=2)
    return root / "one", root / "two"


def _manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


def _dates(entry: dict) -> list[date]:
    return [date.fromisoformat(d) for d in entry["dates"]]


def test_swaths_cover_every_column_and_overlap_at_their_boundaries() -> None:
    assert [swath_orbits(col, 7, 1) for col in range(7)] == [[0]] * 7
    assert [swath_orbits(col, 7, 2) for col in range(7)] == [[0]] * 3 + [[0, 1]] + [[1]] * 3
    for grid in range(1, 13):
        for n_orbits in range(1, 5):
            for col in range(grid):
                orbits = swath_orbits(col, grid, n_orbits)
                assert orbits and orbits == list(range(orbits[0], orbits[-1] + 1))
                assert len(orbits) <= 2


def test_each_swath_has_its_own_calendar_and_the_overlap_both(
    datasets: tuple[Path, Path],
) -> None:
    one, two = (_manifest(root) for root in datasets)
    assert "dates" not in two and two["generator"]["orbits"] == 2
    assert "orbits" not in one["generator"] and "orbits" not in one["patches"][0]
    by_column = {entry["col"]: entry for entry in two["patches"]}
    west, overlap, east = (by_column[col] for col in range(3))
    assert (west["orbits"], overlap["orbits"], east["orbits"]) == ([0], [0, 1], [1])
    assert len(_dates(west)) == len(_dates(east)) == SETTINGS["n_dates"]
    assert _dates(west) != _dates(east)
    assert _dates(overlap) == sorted(set(_dates(west)) | set(_dates(east)))
    # the first orbit keeps the one-orbit calendar; so does every patch of a column
    assert west["dates"] == one["dates"]
    for entry in two["patches"]:
        assert entry["dates"] == by_column[entry["col"]]["dates"]


def test_a_scene_one_patch_wide_still_says_which_orbits_acquired_it(tmp_path: Path) -> None:
    generate(tmp_path / "ds", n_patches=1, patch_size=16, n_dates=4, orbits=2)
    (entry,) = _manifest(tmp_path / "ds")["patches"]
    assert entry["orbits"] == [0, 1] and len(entry["dates"]) > 4


def test_every_file_carries_its_patch_dates_and_validates(datasets: tuple[Path, Path]) -> None:
    one, two = datasets
    dataset = scan(two, format="geotiff")
    assert not dataset.problems
    entries = {entry["id"]: entry for entry in _manifest(two)["patches"]}
    union = _dates(entries["p0001"])  # the overlap: both calendars
    with rasterio.open(two / "scene" / "series.tif") as src:
        scene = src.read().reshape(len(union), 10, *src.shape)  # the scene: every date
    for scanned in dataset.patches:
        data, _, _ = scanned.load()
        entry = entries[scanned.id]
        dates = _dates(entry)
        assert data.dates == dates
        assert data.series.shape[:2] == (len(dates), 10) and data.clouds.shape[0] == len(dates)
        rows, cols = patch_window(entry["row"] * 3 + entry["col"], 3, 16)
        seen = [union.index(d) for d in dates]
        np.testing.assert_array_equal(data.series, scene[seen][:, :, rows, cols])
    for kind in ("labels", "reference"):  # the landscape is the same whatever the orbits
        with (
            rasterio.open(one / kind / "p0004.tif") as a,
            rasterio.open(two / kind / "p0004.tif") as b,
        ):
            np.testing.assert_array_equal(a.read(), b.read())


def test_both_models_train_and_predict_on_patches_with_their_own_dates(tmp_path: Path) -> None:
    snapshot = make_training_set(tmp_path / "data", n_patches=9, size=16, n_dates=6, orbits=2)
    lengths = {len(read_patch(p.dir).dates) for p in TrainingSet.load(snapshot).patches}
    assert lengths == {6, 12}

    rf = LocalContext(tmp_path / "rf-ckpt", tmp_path / "rf")
    forest = train_run(rf, snapshot=snapshot, config={"params": {"n_estimators": 10, "n_jobs": 1}})
    ctx = LocalContext(tmp_path / "ub-ckpt", tmp_path / "ub")
    config = {"model": "tiny", "epochs": 1, "patch_size": 16, "batch_size": 2, "seed": 0}
    ubarn = finetune.run(ctx, snapshot=snapshot, config=config)
    assert forest["n_pixels"] == ubarn["n_pixels"] == 2 * 16 * 16  # both test patches

    overlap = next(p for p in TrainingSet.load(snapshot).patches if p.id == "p0004")
    data = read_patch(overlap.dir)
    assert len(data.dates) == 12
    for out_dir in (rf.out_dir, ctx.out_dir):
        proba = load_predictor(out_dir, device="cpu").predict_proba(
            data.series, data.clouds, data.dates, data.bands
        )
        np.testing.assert_allclose(proba.sum(0), 1.0, atol=1e-5)
