"""bench/parcel_seasons.py: a parcel's season read from its clear dates only."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from rasterio.transform import from_origin

from ml.data.store import S2_BANDS, PatchData, read_patch, write_patch
from tests.bench_scripts import load_bench_script

parcel_seasons = load_bench_script("parcel_seasons")

GREEN_UP, SENESCENCE = 120, 230
DATES = [date(2024, 1, 5) + timedelta(days=12 * k) for k in range(30)]  # days 5, 17, ... 353


def _patch(folder: Path, cloudy_date: int | None) -> np.ndarray:
    """An 8×8 patch of bare soil with a 3×3 crop green from GREEN_UP to SENESCENCE; the
    crop's date ``cloudy_date`` (an index) is a flagged cloud, bright in red and NIR."""
    doy = np.array([d.timetuple().tm_yday for d in DATES], dtype=np.float64)
    season = 1 / (1 + np.exp(-(doy - GREEN_UP) / 5)) - 1 / (1 + np.exp(-(doy - SENESCENCE) / 5))
    crop = np.zeros((8, 8), bool)
    crop[2:5, 3:6] = True
    ndvi = np.where(crop, 0.15 + 0.65 * season[:, None, None], 0.1)
    red = np.full(ndvi.shape, 1000.0)
    series = np.zeros((len(DATES), len(S2_BANDS), 8, 8), np.int16)
    series[:, S2_BANDS.index("B4")] = red
    series[:, S2_BANDS.index("B8")] = red * (1 + ndvi) / (1 - ndvi)
    clouds = np.zeros((len(DATES), 8, 8), np.uint8)
    if cloudy_date is not None:
        series[cloudy_date, :, crop] = 3000
        clouds[cloudy_date, crop] = 1
    write_patch(folder, PatchData(series, clouds, DATES, list(S2_BANDS), "EPSG:32631",
                                  from_origin(500000, 4800000, 10, 10)))  # fmt: skip
    return crop


@pytest.mark.parametrize("cloudy_date", [None, 18])  # date 18: day 221, before senescence
def test_a_parcels_season_is_read_from_its_clear_dates(tmp_path: Path, cloudy_date) -> None:
    """A cloud flagged in the season would otherwise end it at the cloud (about day 215)."""
    crop = _patch(tmp_path / "p", cloudy_date)
    green_up, senescence = parcel_seasons.mean_ndvi_season(read_patch(tmp_path / "p"), crop)
    assert abs(green_up - GREEN_UP) <= 5
    assert abs(senescence - SENESCENCE) <= 5
