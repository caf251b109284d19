"""The canonical on-disk form of an ingested patch: one folder of .npy arrays + meta.json.

Whatever layout a dataset arrived in (PASTIS, GeoTIFF, synthetic), ingest rewrites each
patch into this form so that training reads memory-mapped arrays with no decoding, and
labels (which change with every validated revision) are separate small GeoTIFFs.

    folder/series.npy   (T, C, H, W) int16, reflectance x 10000, nodata -10000
    folder/clouds.npy   (T, H, W) uint8: 0 clear, 1 cloud, 2 shadow, 255 nodata
    folder/meta.json    dates, bands, crs, transform (a, b, c, d, e, f), height, width
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine

S2_BANDS: tuple[str, ...] = ("B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12")
NODATA = -10000
CLEAR, CLOUD, SHADOW, MASK_NODATA = 0, 1, 2, 255
STORE_VERSION = 1


@dataclass
class PatchData:
    """One patch's image time series with its cloud mask, dates, bands and georeference."""

    series: np.ndarray
    clouds: np.ndarray
    dates: list[date]
    bands: list[str]
    crs: str
    transform: Affine

    @property
    def height(self) -> int:
        return int(self.series.shape[2])

    @property
    def width(self) -> int:
        return int(self.series.shape[3])

    def validate(self) -> None:
        """Raise ValueError, saying what is inconsistent, before anything is written."""
        s, c = self.series, self.clouds
        if s.ndim != 4 or s.dtype != np.int16:
            raise ValueError(f"series must be a (T, C, H, W) int16 array, got {s.dtype} {s.shape}")
        if c.dtype != np.uint8 or c.shape != (s.shape[0], s.shape[2], s.shape[3]):
            raise ValueError(
                f"clouds must be (T, H, W) = {(s.shape[0], *s.shape[2:])} uint8, "
                f"got {c.dtype} {c.shape}"
            )
        if len(self.dates) != s.shape[0]:
            raise ValueError(f"{len(self.dates)} dates for a series of {s.shape[0]} dates")
        if any(b <= a for a, b in zip(self.dates, self.dates[1:], strict=False)):
            raise ValueError("dates must be strictly increasing")
        if len(self.bands) != s.shape[1]:
            raise ValueError(f"{len(self.bands)} band names for a series of {s.shape[1]} bands")
        if not self.crs:
            raise ValueError("a patch needs a CRS")


def write_patch(folder: Path, data: PatchData) -> None:
    """Write a patch folder; validates first and replaces files atomically (no half patch)."""
    data.validate()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {
        "version": STORE_VERSION,
        "dates": [d.isoformat() for d in data.dates],
        "bands": list(data.bands),
        "crs": data.crs,
        "transform": list(data.transform)[:6],
        "height": data.height,
        "width": data.width,
    }
    _atomic_npy(folder / "series.npy", data.series)
    _atomic_npy(folder / "clouds.npy", data.clouds)
    tmp = folder / "meta.json.tmp"
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, folder / "meta.json")


def read_patch(folder: Path, mmap: bool = True) -> PatchData:
    """Read a patch folder; with ``mmap`` the arrays are read-only memory maps."""
    folder = Path(folder)
    meta = json.loads((folder / "meta.json").read_text())
    mode = "r" if mmap else None
    return PatchData(
        series=np.load(folder / "series.npy", mmap_mode=mode),
        clouds=np.load(folder / "clouds.npy", mmap_mode=mode),
        dates=[date.fromisoformat(d) for d in meta["dates"]],
        bands=list(meta["bands"]),
        crs=meta["crs"],
        transform=Affine(*meta["transform"][:6]),
    )


def write_label(
    path: Path,
    labels: np.ndarray,
    crs: str,
    transform: Affine,
    colormap: dict[int, tuple[int, int, int, int]] | None = None,
) -> None:
    """Write a single-band uint8 label GeoTIFF (DEFLATE), optionally with a colour table."""
    if labels.ndim != 2 or labels.dtype != np.uint8:
        raise ValueError(f"labels must be a (H, W) uint8 array, got {labels.dtype} {labels.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with rasterio.open(tmp, "w", **label_profile(labels.shape, crs, transform)) as dst:
        dst.write(labels, 1)
        if colormap:
            dst.write_colormap(1, colormap)
    os.replace(tmp, path)


def read_label(path: Path) -> np.ndarray:
    """Read a label GeoTIFF's first band as a (H, W) uint8 array."""
    with rasterio.open(path) as src:
        return src.read(1).astype(np.uint8, copy=False)


def label_profile(shape: tuple[int, int], crs: str, transform: Affine) -> dict[str, Any]:
    """The rasterio profile every label raster shares (single band uint8, DEFLATE)."""
    height, width = shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": 1,
        "dtype": "uint8",
        "crs": crs,
        "transform": transform,
        "compress": "deflate",
    }
    if height % 16 == 0 and width % 16 == 0:
        profile.update(tiled=True, blockxsize=min(256, width), blockysize=min(256, height))
    return profile


def _atomic_npy(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, np.ascontiguousarray(array))
    os.replace(tmp, path)
