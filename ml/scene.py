"""Windowed access to a whole scene's time series (the rasters map production reads).

A scene is two GeoTIFFs: ``series.tif`` with T x C int16 bands whose descriptions read
``"YYYY-MM-DD Bx"`` (Theia reflectance x10000, nodata -10000) and ``clouds.tif`` with one
uint8 band per date (0 clear, 1 cloud, 2 shadow, 255 nodata). Nothing here ever reads a
whole scene: a full Sentinel-2 tile with a year of dates is tens of gigabytes, so every
reader takes a window and the caller bounds its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window

from ml.data.store import NODATA


@dataclass(frozen=True)
class Scene:
    """A scene's geometry and band layout; `index[t][c]` is the 1-based band of date t, band c."""

    series_path: Path
    clouds_path: Path | None
    dates: list[date]
    bands: list[str]
    index: list[list[int]]
    crs: Any
    transform: Any
    width: int
    height: int

    def read(
        self, window: Window, *, bands: list[str] | None = None, dates: list[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Series (T, C, h, w) int16 and clouds (T, h, w) uint8 of one window.

        `bands` (names) and `dates` (indices) restrict what is read, e.g. three bands
        for a composite. Without a cloud raster every observation that is not nodata
        counts as clear.
        """
        band_pos = [self.bands.index(b) for b in bands] if bands else list(range(len(self.bands)))
        date_pos = dates if dates is not None else list(range(len(self.dates)))
        order = [self.index[t][c] for t in date_pos for c in band_pos]
        with rasterio.open(self.series_path) as src:
            flat = src.read(order, window=window)
        series = flat.reshape(len(date_pos), len(band_pos), *flat.shape[1:])
        if self.clouds_path is None:
            clouds = np.where((series == NODATA).all(axis=1), 255, 0).astype(np.uint8)
        else:
            with rasterio.open(self.clouds_path) as src:
                clouds = src.read([t + 1 for t in date_pos], window=window)
        return series, clouds

    def pixel(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, col) of the native-CRS point (x, y), or None outside the scene."""
        row, col = rasterio.transform.rowcol(self.transform, x, y)
        if 0 <= row < self.height and 0 <= col < self.width:
            return int(row), int(col)
        return None


def parse_description(text: str) -> tuple[date, str]:
    """``"2018-04-03 B4"`` -> (date(2018, 4, 3), "B4"); anything else is a clear error."""
    parts = (text or "").split()
    if len(parts) != 2:
        raise ValueError(f"band description {text!r} is not 'YYYY-MM-DD Bx'")
    try:
        day = date.fromisoformat(parts[0])
    except ValueError as exc:
        raise ValueError(f"band description {text!r} does not start with an ISO date") from exc
    return day, parts[1]


def open_scene(series: Path, clouds: Path | None = None) -> Scene:
    """Read a scene's metadata (no pixels) and check the two rasters agree.

    Raises:
        FileNotFoundError: a raster is missing.
        ValueError: descriptions are not a full dates x bands grid, or the cloud raster
            has another size or number of dates.
    """
    series = Path(series)
    if not series.exists():
        raise FileNotFoundError(f"scene series {series.name} does not exist")
    with rasterio.open(series) as src:
        parsed = [parse_description(d) for d in src.descriptions]
        crs, transform, width, height = src.crs, src.transform, src.width, src.height
    dates = sorted({d for d, _ in parsed})
    bands: list[str] = []
    for _, b in parsed:
        if b not in bands:
            bands.append(b)
    where = {key: i + 1 for i, key in enumerate(parsed)}
    if len(where) != len(dates) * len(bands):
        raise ValueError(
            f"{series.name}: bands are not a full grid of {len(dates)} dates x {len(bands)} bands"
        )
    index = [[where[(d, b)] for b in bands] for d in dates]
    if clouds is not None:
        clouds = Path(clouds)
        if not clouds.exists():
            raise FileNotFoundError(f"scene clouds {clouds.name} does not exist")
        with rasterio.open(clouds) as src:
            if (src.width, src.height) != (width, height) or src.count != len(dates):
                raise ValueError(
                    f"{clouds.name} is {src.width}x{src.height} with {src.count} dates; "
                    f"the series is {width}x{height} with {len(dates)} dates"
                )
    return Scene(series, clouds, dates, bands, index, crs, transform, width, height)


def ndvi_series(scene: Scene, row: int, col: int) -> list[dict[str, Any]]:
    """NDVI of one pixel at every date, None where cloudy or nodata (for the inspector)."""
    series, clouds = scene.read(Window(col, row, 1, 1))
    try:
        red, nir = scene.bands.index("B4"), scene.bands.index("B8")
    except ValueError:
        return []
    out = []
    for t, day in enumerate(scene.dates):
        r, n = float(series[t, red, 0, 0]), float(series[t, nir, 0, 0])
        ok = clouds[t, 0, 0] == 0 and r != NODATA and n != NODATA and (n + r) != 0
        out.append({"date": day.isoformat(), "ndvi": round((n - r) / (n + r), 4) if ok else None})
    return out
