"""Regional phenology: seasons shifted by a smooth field over the scene."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from ml.data.synthetic import generate
from ml.data.synthetic.phenology import object_ndvi, object_spectra
from ml.data.synthetic.regions import RegionalShift
from ml.data.synthetic.scene import build_scene
from ml.data.synthetic.urban import mosaic_towns

SETTINGS = {"n_patches": 9, "patch_size": 32, "n_dates": 8, "seed": 4, "urban_mosaic": True}
CLASSES = np.array([5, 6, 7, 8, 11, 13, 16, 2, 23])  # rapeseed flowers, rice floods, meadows mown


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same scene with one calendar per class and with regions 20 days (sd) apart."""
    root = tmp_path_factory.mktemp("regions")
    generate(root / "flat", **SETTINGS)
    generate(root / "shifted", **SETTINGS, phenology_shift=20.0)
    return root / "flat", root / "shifted"


def test_field_has_the_asked_spread_and_is_smooth() -> None:
    side = 256
    shift = RegionalShift.draw(np.random.default_rng(1), side, 12.0)
    assert shift.lattice.mean() == pytest.approx(0.0, abs=1e-9)
    assert shift.lattice.std() == pytest.approx(12.0)
    # objects: 16 x 16 squares of 16 px; neighbours differ far less than the spread
    ids = (np.arange(side)[:, None] // 16) * 16 + np.arange(side)[None, :] // 16
    days = shift.of_objects(ids, 0, 256).reshape(16, 16)
    assert 8.0 < days.std() < 16.0
    assert np.abs(np.diff(days, axis=1)).mean() < days.std() / 3


def test_objects_are_counted_from_first_and_missing_ones_get_no_shift() -> None:
    shift = RegionalShift.draw(np.random.default_rng(2), 64, 10.0)
    ids = np.full((64, 64), 7)
    ids[:, 32:] = 8
    days = shift.of_objects(ids, 7, 3)
    assert days[2] == 0.0 and days[0] != days[1]
    assert shift.of_objects(ids, 0, 3).tolist() == [0.0, 0.0, 0.0]


def test_a_regional_shift_moves_every_season_by_its_days() -> None:
    """Seasons d days later read, on day t, what they read on day t - d without the shift:
    green-up, senescence, rapeseed's flowering, rice's flooding and the meadows' mowing."""
    doy = np.arange(0, 360, 9)
    later = np.full(len(CLASSES), 20.0)
    moisture = np.ones(len(doy), np.float32)
    shifted = object_ndvi(np.random.default_rng(3), CLASSES, doy, regional_shift=later)[0]
    moved = object_ndvi(np.random.default_rng(3), CLASSES, doy - 20)[0]
    np.testing.assert_allclose(shifted, moved, atol=1e-5)
    assert not np.allclose(shifted, object_ndvi(np.random.default_rng(3), CLASSES, doy)[0])
    spectra = object_spectra(np.random.default_rng(3), CLASSES, doy, moisture, regional_shift=later)
    reference = object_spectra(np.random.default_rng(3), CLASSES, doy - 20, moisture)
    np.testing.assert_allclose(spectra.mean, reference.mean, atol=1e-5)


def test_shift_changes_the_images_only(datasets: tuple[Path, Path]) -> None:
    flat, shifted = datasets
    manifests = [json.loads((root / "manifest.json").read_text()) for root in datasets]
    assert manifests[1]["generator"]["phenology_shift"] == 20.0
    assert "phenology_shift" not in manifests[0]["generator"]
    assert manifests[0]["dates"] == manifests[1]["dates"]
    for sub in ("labels", "reference", "clouds"):
        for path in sorted((flat / sub).iterdir()):
            assert path.read_bytes() == (shifted / sub / path.name).read_bytes(), path
    with (
        rasterio.open(flat / "scene" / "series.tif") as a,
        rasterio.open(shifted / "scene" / "series.tif") as b,
    ):
        assert a.descriptions == b.descriptions
        assert not np.array_equal(a.read(), b.read())


def test_town_gardens_shift_with_their_town() -> None:
    """Lawns and trees inside towns move with the parcels around them (town greenery would
    otherwise keep the scene-wide timing and stand out from woods and meadows); roofs and
    streets have no season to move."""
    side = 128
    scene = build_scene(np.random.default_rng(5), side)
    doy = np.arange(0, 360, 12)
    moisture = np.ones(len(doy), np.float32)
    regional = RegionalShift.draw(np.random.default_rng(6), side, 20.0)
    spectra = object_spectra(np.random.default_rng(7), scene.classes, doy, moisture)
    towns = [
        mosaic_towns(np.random.default_rng(8), scene, spectra, doy, moisture, shift)[1].ndvi
        for shift in (None, regional)
    ]
    own = len(scene.classes)
    moved = ~np.isclose(towns[0][own:], towns[1][own:], atol=1e-4).all(axis=1)
    assert len(moved) > 100
    assert 0.2 < moved.mean() < 0.9
