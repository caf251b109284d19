"""The canonical patch store: arrays + meta.json round trip; bad input writes nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from ml.data.store import S2_BANDS, PatchData, read_label, read_patch, write_label, write_patch

TRANSFORM = Affine(10.0, 0.0, 360000.0, 0.0, -10.0, 4830000.0)


def _patch(seed: int = 0, n_dates: int = 3) -> PatchData:
    rng = np.random.default_rng(seed)
    return PatchData(
        series=rng.integers(0, 10000, (n_dates, 10, 8, 6)).astype(np.int16),
        clouds=rng.integers(0, 3, (n_dates, 8, 6)).astype(np.uint8),
        dates=[date(2024, 1, 5), date(2024, 2, 9), date(2024, 3, 1)][:n_dates],
        bands=list(S2_BANDS),
        crs="EPSG:32631",
        transform=TRANSFORM,
    )


@pytest.mark.parametrize("mmap", [True, False])
def test_patch_round_trip(tmp_path: Path, mmap: bool) -> None:
    data = _patch()
    write_patch(tmp_path / "p", data)
    back = read_patch(tmp_path / "p", mmap=mmap)
    np.testing.assert_array_equal(back.series, data.series)
    np.testing.assert_array_equal(back.clouds, data.clouds)
    assert (back.dates, back.bands, back.crs, back.transform) == (
        data.dates,
        data.bands,
        data.crs,
        data.transform,
    )
    assert isinstance(back.series, np.memmap) is mmap
    assert (back.height, back.width) == (8, 6)
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [
        "clouds.npy",
        "meta.json",
        "series.npy",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: setattr(d, "clouds", d.clouds[:, :4]), "clouds must be"),
        (lambda d: setattr(d, "series", d.series.astype(np.float32)), "int16"),
        (lambda d: setattr(d, "dates", d.dates[:2]), "2 dates for a series of 3"),
        (
            lambda d: setattr(d, "dates", [d.dates[1], d.dates[0], d.dates[2]]),
            "strictly increasing",
        ),
        (lambda d: setattr(d, "bands", ["B2", "B3"]), "2 band names"),
        (lambda d: setattr(d, "crs", ""), "needs a CRS"),
    ],
)
def test_bad_patch_is_refused_before_writing(tmp_path: Path, change, message: str) -> None:
    data = _patch()
    change(data)
    with pytest.raises(ValueError, match=message):
        write_patch(tmp_path / "p", data)
    assert not (tmp_path / "p").exists()


def test_label_round_trip_keeps_grid_and_colours(tmp_path: Path) -> None:
    labels = np.arange(48, dtype=np.uint8).reshape(8, 6) % 24
    write_label(
        tmp_path / "l.tif", labels, "EPSG:32631", TRANSFORM, colormap={5: (255, 255, 0, 255)}
    )
    np.testing.assert_array_equal(read_label(tmp_path / "l.tif"), labels)
    with rasterio.open(tmp_path / "l.tif") as src:
        assert src.crs.to_epsg() == 32631 and src.transform == TRANSFORM
        assert src.profile["compress"] == "deflate"
        assert src.colormap(1)[5] == (255, 255, 0, 255)
    with pytest.raises(ValueError, match="uint8"):
        write_label(tmp_path / "bad.tif", labels.astype(np.int32), "EPSG:32631", TRANSFORM)
    assert not (tmp_path / "bad.tif").exists()
