"""Checks of the GeoTIFFs of one patch: same grid as the image, right bands and values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import RasterioError

from ml.data.layouts.common import band_description, check_codes, crs_string
from ml.data.store import CLEAR, CLOUD, MASK_NODATA, SHADOW
from ml.nomenclature import Nomenclature

MASK_VALUES = {CLEAR, CLOUD, SHADOW, MASK_NODATA}


@dataclass
class RasterGrid:
    """A raster's pixel grid: what label, mask and image of one patch must share."""

    crs: Any
    transform: Affine
    width: int
    height: int

    def matches(self, other: RasterGrid) -> bool:
        return (
            (self.width, self.height) == (other.width, other.height)
            and self.crs == other.crs
            and self.transform.almost_equals(other.transform, precision=1e-4)
        )

    def describe(self) -> str:
        t = self.transform
        crs = crs_string(self.crs) if self.crs else "no CRS"
        return (
            f"{self.width}x{self.height} px, origin ({t.c:.2f}, {t.f:.2f}), "
            f"pixel {t.a:g} x {t.e:g}, {crs}"
        )


def check_descriptions(
    pid: str, descriptions: tuple[str | None, ...], dates: list[date], bands: list[str]
) -> list[str]:
    """Reasons if the image's band descriptions contradict the dates and bands."""
    if not any(descriptions):
        return []
    expected = [band_description(d, b) for d in dates for b in bands]
    for i, (have, want) in enumerate(zip(descriptions, expected, strict=True)):
        if (have or "").strip() != want:
            return [
                f"patch {pid}: image band {i + 1} is described as {have!r} but the manifest's "
                f"dates and bands say {want!r}; bands must be ordered date by date, "
                f"{' '.join(bands)} within a date"
            ]
    return []


def check_label(
    pid: str, key: str, path: Path, grid: RasterGrid, nomenclature: Nomenclature
) -> list[str]:
    """Reasons why a label (or reference) raster cannot go with this image."""
    try:
        with rasterio.open(path) as src:
            other = RasterGrid(src.crs, src.transform, src.width, src.height)
            if src.count != 1 or src.dtypes[0] != "uint8":
                return [
                    f"patch {pid}: {key} must be a single-band uint8 raster, "
                    f"got {src.count} band(s) of {src.dtypes[0]}"
                ]
            labels = src.read(1)
    except (RasterioError, OSError) as exc:
        return [f"patch {pid}: {key} file {path.name} cannot be read as a GeoTIFF ({exc})"]
    if not other.matches(grid):
        return [
            f"patch {pid}: {key} grid ({other.describe()}) differs from "
            f"the image grid ({grid.describe()})"
        ]
    return check_codes(pid, key, labels, nomenclature)


def check_clouds(
    pid: str, path: Path, grid: RasterGrid, n_dates: int, check_pixels: bool
) -> list[str]:
    """Reasons why a cloud mask cannot go with this image (bands, grid, values)."""
    try:
        with rasterio.open(path) as src:
            other = RasterGrid(src.crs, src.transform, src.width, src.height)
            if src.count != n_dates or src.dtypes[0] != "uint8":
                return [
                    f"patch {pid}: cloud mask must have one uint8 band per date ({n_dates}), "
                    f"got {src.count} band(s) of {src.dtypes[0]}"
                ]
            values = src.read() if check_pixels else None
    except (RasterioError, OSError) as exc:
        return [f"patch {pid}: cloud mask {path.name} cannot be read as a GeoTIFF ({exc})"]
    if not other.matches(grid):
        return [
            f"patch {pid}: cloud mask grid ({other.describe()}) differs from "
            f"the image grid ({grid.describe()})"
        ]
    if values is not None:
        bad = sorted(set(np.unique(values).tolist()) - MASK_VALUES)
        if bad:
            return [
                f"patch {pid}: cloud mask holds value(s) {bad}; "
                "allowed are 0 clear, 1 cloud, 2 shadow, 255 no data"
            ]
    return []
