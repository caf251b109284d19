"""Write the GeoTIFF layout (docs/data-format.md): per-patch files, whole-scene files, manifest.

Patch images are int16 GeoTIFFs with T x C bands ordered date by date, each band
described "YYYY-MM-DD Bn", nodata -10000, DEFLATE; masks are uint8 with one band per
date; labels are single-band uint8 with the nomenclature's colour table. The scene files
(series, clouds, labels, reference, parcel ids) are tiled 256 x 256 for map production
and tile serving.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

from ml.data.layouts.common import band_description
from ml.data.store import CLOUD, NODATA, S2_BANDS, SHADOW, label_profile
from ml.data.synthetic.orbits import Calendars

CREATION = {"compress": "deflate", "zlevel": 1, "num_threads": "2"}


def _profile(
    count: int, height: int, width: int, dtype: str, crs: str, transform: Affine, block: int
) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "count": count,
        "height": height,
        "width": width,
        "dtype": dtype,
        "crs": crs,
        "transform": transform,
        "interleave": "band",
        **CREATION,
    }
    side = min(block, -(-max(height, width) // 16) * 16)
    if side % 16 == 0 and height >= 16 and width >= 16:
        profile.update(tiled=True, blockxsize=side, blockysize=side)
    if dtype == "int16":
        profile["nodata"] = NODATA
    return profile


def series_descriptions(dates: list[date], bands: list[str]) -> tuple[str, ...]:
    """Band descriptions of a T x C series, date by date."""
    return tuple(band_description(d, b) for d in dates for b in bands)


def write_series(
    path: Path, series: np.ndarray, dates: list[date], bands: list[str], crs: str, transform: Affine
) -> None:
    """One patch's (T, C, H, W) int16 series as a T*C-band GeoTIFF."""
    t, c, h, w = series.shape
    with rasterio.open(path, "w", **_profile(t * c, h, w, "int16", crs, transform, h)) as dst:
        dst.write(series.reshape(t * c, h, w))
        dst.descriptions = series_descriptions(dates, bands)


def write_mask(
    path: Path, clouds: np.ndarray, dates: list[date], crs: str, transform: Affine
) -> None:
    """One patch's (T, H, W) cloud mask, one uint8 band per date described by its date."""
    t, h, w = clouds.shape
    with rasterio.open(path, "w", **_profile(t, h, w, "uint8", crs, transform, h)) as dst:
        dst.write(clouds)
        dst.descriptions = tuple(d.isoformat() for d in dates)


def write_labels(
    path: Path, labels: np.ndarray, crs: str, transform: Affine, colormap: dict | None
) -> None:
    """A label raster (uint8) with an optional colour table; big ones tiled 256."""
    profile = label_profile(labels.shape, crs, transform)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(labels, 1)
        if colormap:
            dst.write_colormap(1, colormap)


@dataclass
class PatchGrid:
    """The square grid of patches cut from the scene (row-major, first ``len(ids)`` cells)."""

    grid: int
    size: int
    ids: list[str]
    transform: Affine

    def window(self, index: int) -> tuple[slice, slice]:
        """Rows and columns of a patch in scene pixels."""
        row, col = divmod(index, self.grid)
        return slice(row * self.size, (row + 1) * self.size), slice(
            col * self.size, (col + 1) * self.size
        )

    def patch_transform(self, index: int) -> Affine:
        row, col = divmod(index, self.grid)
        return self.transform @ Affine.translation(col * self.size, row * self.size)

    def in_rows(self, y0: int, y1: int) -> list[int]:
        """Indices of the patches lying within scene rows y0..y1."""
        first, last = -(-y0 // self.size), y1 // self.size
        return [i for i in range(first * self.grid, last * self.grid) if i < len(self.ids)]


class DatasetWriter:
    """Writes scene strips and patch files on worker threads while the next strip renders.

    GDAL compresses without holding the GIL, so DEFLATE runs beside numpy. At most two
    strips are in flight, which bounds memory; ``progress`` is called from the caller's
    thread as patches complete.
    """

    def __init__(
        self,
        root: Path,
        patches: PatchGrid,
        side: int,
        calendars: Calendars,
        crs: str,
        labels: np.ndarray,
        reference: np.ndarray,
        colormap: dict,
        progress: Callable[[int, int], None] | None,
    ):
        self.root, self.patches, self.calendars, self.crs = root, patches, calendars, crs
        self.labels, self.reference, self.colormap, self.progress = (
            labels,
            reference,
            colormap,
            progress,
        )
        self.scene = SceneWriter(
            root / "scene", side, calendars.dates, list(S2_BANDS), crs, patches.transform
        )
        self.scene_pool = ThreadPoolExecutor(1)
        self.patch_pool = ThreadPoolExecutor(2)
        self.in_flight: list[list[Future]] = []
        self.counts = np.zeros(3, np.int64)  # cloud, shadow, all pixel-dates of the patches
        self.done = 0

    def submit(self, y0: int, series: np.ndarray, masks: np.ndarray) -> None:
        """Queue a rendered strip (scene rows y0..y0+h) for writing."""
        jobs = [self.scene_pool.submit(self.scene.write, y0, series, masks)]
        for index in self.patches.in_rows(y0, y0 + series.shape[2]):
            rows, cols = self.patches.window(index)
            local = slice(rows.start - y0, rows.stop - y0)
            col = index % self.patches.grid
            seen = self.calendars.column_dates[col]
            jobs.append(
                self.patch_pool.submit(
                    self._write_patch,
                    index,
                    series[seen, :, local, cols],
                    masks[seen, local, cols],
                    self.calendars.dates_of(col),
                )
            )
        self.in_flight.append(jobs)
        while len(self.in_flight) > 1:
            self._drain(self.in_flight.pop(0))

    def close(self) -> None:
        """Wait for every write, then close the scene files."""
        try:
            for jobs in self.in_flight:
                self._drain(jobs)
        finally:
            self.scene_pool.shutdown()
            self.patch_pool.shutdown()
            self.scene.close()

    def _drain(self, jobs: list[Future]) -> None:
        for job in jobs:
            counts = job.result()
            if counts is not None:
                self.counts += counts
                self.done += 1
                if self.progress:
                    self.progress(self.done, len(self.patches.ids))

    def _write_patch(
        self, index: int, series: np.ndarray, masks: np.ndarray, dates: list[date]
    ) -> np.ndarray:
        pid = self.patches.ids[index]
        transform = self.patches.patch_transform(index)
        window = self.patches.window(index)
        write_series(
            self.root / "images" / f"{pid}.tif", series, dates, list(S2_BANDS), self.crs, transform
        )
        write_mask(self.root / "clouds" / f"{pid}.tif", masks, dates, self.crs, transform)
        write_labels(
            self.root / "labels" / f"{pid}.tif",
            self.labels[window],
            self.crs,
            transform,
            self.colormap,
        )
        write_labels(
            self.root / "reference" / f"{pid}.tif",
            self.reference[window],
            self.crs,
            transform,
            self.colormap,
        )
        return np.array([(masks == CLOUD).sum(), (masks == SHADOW).sum(), masks.size])


def write_parcels(path: Path, objects: np.ndarray, crs: str, transform: Affine) -> None:
    """The scene's object ids (int32), to score label-error detection per parcel."""
    profile = label_profile(objects.shape, crs, transform) | {"dtype": "int32"}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(objects, 1)


class SceneWriter:
    """The whole-scene series and cloud mask, written strip by strip."""

    def __init__(
        self,
        folder: Path,
        side: int,
        dates: list[date],
        bands: list[str],
        crs: str,
        transform: Affine,
    ):
        folder.mkdir(parents=True, exist_ok=True)
        n = len(dates) * len(bands)
        self.series = rasterio.open(
            folder / "series.tif", "w", **_profile(n, side, side, "int16", crs, transform, 256)
        )
        self.series.descriptions = series_descriptions(dates, bands)
        self.clouds = rasterio.open(
            folder / "clouds.tif",
            "w",
            **_profile(len(dates), side, side, "uint8", crs, transform, 256),
        )
        self.clouds.descriptions = tuple(d.isoformat() for d in dates)

    def write(self, y0: int, series: np.ndarray, clouds: np.ndarray) -> None:
        """Write a strip of rows starting at y0: series (T, C, h, W), clouds (T, h, W)."""
        t, c, h, w = series.shape
        window = Window(0, y0, w, h)
        self.series.write(series.reshape(t * c, h, w), window=window)
        self.clouds.write(clouds, window=window)

    def close(self) -> None:
        self.series.close()
        self.clouds.close()


def write_json(path: Path, data: Any) -> None:
    """Pretty, UTF-8 JSON (manifest, noise truth)."""
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
