"""Comparing two class maps, and colour composites of a scene."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from ml.cog import is_valid_cog, overview_resampling
from ml.composite import make_composite
from ml.map_compare import AGREE, DISAGREE, compare_maps, pontius
from ml.scene import NODATA, open_scene
from tests.scenes import write_classes, write_scene


def test_pontius_splits_quantity_and_allocation() -> None:
    # Same amounts of each class, swapped places: all disagreement is allocation.
    swap = np.array([[0, 10], [10, 0]])
    assert pontius(swap) == pytest.approx(
        {"agreement": 0, "disagreement": 1, "quantity": 0, "allocation": 1}
    )
    # Map B calls everything class 1: all disagreement is quantity.
    one = np.array([[10, 0], [10, 0]])
    assert pontius(one)["quantity"] == pytest.approx(0.5) and pontius(one)[
        "allocation"
    ] == pytest.approx(0)
    with pytest.raises(ValueError):
        pontius(np.zeros((2, 2)))


def test_compare_maps_cross_tabulates_at_full_resolution(tmp_path: Path) -> None:
    a = np.ones((40, 50), dtype=np.uint8)
    a[:, 25:] = 2
    b = a.copy()
    b[:10, :10] = 3
    b[39, 49] = 255
    comparison = compare_maps(
        write_classes(tmp_path / "a.tif", a),
        write_classes(tmp_path / "b.tif", b),
        out_dir=tmp_path / "cmp",
    )
    assert comparison.codes == [1, 2, 3]
    assert comparison.matrix.tolist() == [[900, 0, 100], [0, 999, 0], [0, 0, 0]]
    assert comparison.summary["disagreement"] == pytest.approx(100 / 1999)
    assert comparison.summary["areas_ha_b"]["3"] == pytest.approx(1.0)  # 100 px of 100 m2
    with rasterio.open(comparison.agreement) as src:
        agreement = src.read(1)
    assert (
        (agreement[:10, :10] == DISAGREE).all()
        and agreement[20, 20] == AGREE
        and agreement[39, 49] == 0
    )
    with rasterio.open(comparison.pairs) as src:
        assert src.read(1)[0, 0] == 1 * 256 + 3
    assert (
        is_valid_cog(comparison.agreement) and overview_resampling(comparison.agreement) == "MODE"
    )


def test_compare_refuses_other_grids(tmp_path: Path) -> None:
    a = write_classes(tmp_path / "a.tif", np.ones((10, 10), np.uint8))
    b = write_classes(tmp_path / "b.tif", np.ones((10, 10), np.uint8), from_origin(5, 0, 10, 10))
    with pytest.raises(ValueError, match="same grid"):
        compare_maps(a, b, out_dir=tmp_path / "cmp")
    assert not (tmp_path / "cmp" / "agreement.tif").exists()


def test_composites_of_one_date_and_a_median(tmp_path: Path) -> None:
    series, clouds = write_scene(tmp_path / "scene", height=40, width=30, cloudy_corner=4)
    scene = open_scene(series, clouds)
    one = make_composite(scene, tmp_path / "tc.tif", recipe="true_colour", on=scene.dates[1])
    median = make_composite(
        scene, tmp_path / "fc.tif", recipe="false_colour", period=(scene.dates[0], scene.dates[-1])
    )
    with rasterio.open(one) as src:
        assert src.descriptions == ("B4", "B3", "B2") and src.dtypes[0] == "int16"
        got = src.read()
    raw, cl = scene.read(rasterio.windows.Window(0, 0, 30, 40), bands=["B4", "B3", "B2"], dates=[1])
    expected = np.where(cl[0] == 0, raw[0], NODATA)
    np.testing.assert_array_equal(got, expected)
    with rasterio.open(median) as src:
        values = src.read()
    assert (values[:, :4, :4] == NODATA).all() and (values[:, 10:, 10:] != NODATA).all()
    assert is_valid_cog(median) and overview_resampling(median) == "AVERAGE"
    with pytest.raises(ValueError, match="not a date"):
        make_composite(scene, tmp_path / "x.tif", on=date(2000, 1, 1))
    with pytest.raises(ValueError, match="unknown composite"):
        make_composite(scene, tmp_path / "x.tif", recipe="sepia", on=scene.dates[0])
    assert not (tmp_path / "x.tif").exists()
