"""The Web-Mercator display copy of a map product: every source pixel still visible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin, rowcol
from rasterio.warp import transform as transform_coords

from ml.cog import is_valid_cog, to_cog, web_mercator_copy
from ml.predict import CLASS_NODATA
from tests.scenes import write_class_cog

COLOURS = {1: "#e6004d", 2: "#ff8c00", 3: "#33a02c", 4: "#1f78b4"}


@pytest.fixture
def speckled(tmp_path: Path) -> tuple[np.ndarray, Path]:
    """Classes drawn independently per pixel: every pixel is a one-pixel feature."""
    classes = np.random.default_rng(0).integers(1, 5, size=(60, 80), dtype=np.uint8)
    return classes, write_class_cog(tmp_path, classes, COLOURS)


def test_display_copy_is_a_web_mercator_cog_with_the_palette(
    speckled: tuple[np.ndarray, Path],
) -> None:
    _, native = speckled
    copy = web_mercator_copy(native, native.with_name("classes.web.tif"), categorical=True)
    assert is_valid_cog(copy)
    assert not list(copy.parent.glob("*.partial"))
    with rasterio.open(copy) as src:
        assert src.crs.to_epsg() == 3857
        assert src.block_shapes == [(256, 256)]
        assert src.nodata == CLASS_NODATA
        assert src.colormap(1)[2] == (255, 140, 0, 255)
        assert set(np.unique(src.read(1))) <= {1, 2, 3, 4, CLASS_NODATA}


def test_every_source_pixel_keeps_its_class_in_the_display_copy(
    speckled: tuple[np.ndarray, Path],
) -> None:
    """Sampled at each 10 m pixel's centre, the copy holds that pixel's class: no pixel is
    skipped (the zoom nearest 10 m at this latitude, z13, is about 14 m and would skip some)."""
    classes, native = speckled
    copy = web_mercator_copy(native, native.with_name("classes.web.tif"), categorical=True)
    rows, cols = np.mgrid[0 : classes.shape[0], 0 : classes.shape[1]]
    with rasterio.open(native) as src:
        xs, ys = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
        mx, my = transform_coords(src.crs, "EPSG:3857", xs, ys)
    with rasterio.open(copy) as src:
        ground_metres = src.res[0] * np.cos(np.radians(43.6))
        r, c = rowcol(src.transform, mx, my)
        shown = src.read(1)[np.asarray(r), np.asarray(c)]
    assert ground_metres <= 10
    np.testing.assert_array_equal(shown, classes.ravel())


def test_continuous_copy_keeps_values_and_predictor(tmp_path: Path) -> None:
    values = np.linspace(0, 3000, 50 * 40, dtype=np.float32).reshape(1, 50, 40).astype(np.int16)
    work = tmp_path / "rgb.work.tif"
    with rasterio.open(
        work,
        "w",
        driver="GTiff",
        width=40,
        height=50,
        count=1,
        dtype="int16",
        nodata=-10000,
        crs="EPSG:32631",
        transform=from_origin(360_000, 4_830_000, 10, 10),
    ) as dst:
        dst.write(values)
    native = to_cog(work, tmp_path / "rgb.tif", categorical=False)
    copy = web_mercator_copy(native, tmp_path / "rgb.web.tif", categorical=False)
    with rasterio.open(copy) as src:
        assert src.crs.to_epsg() == 3857 and src.nodata == -10000
        assert src.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR") == "2"
        band = src.read(1)
    shown = band[band != -10000]
    assert shown.min() >= 0 and shown.max() <= 3000
    assert len(np.unique(shown)) > 100  # nearest resampling keeps the source's values
