"""What every dataset layout reader returns, and the checks they share.

Ingest validates a whole dataset before anything is written (architecture: "bad input is
refused with a clear error before anything is written"), so a reader never raises on a
bad patch: it returns the patch's problems, each naming the patch and saying what a
person must fix. Only a dataset-level fault (no manifest, unknown nomenclature) raises
:class:`LayoutError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.warp import transform_geom

from ml.data.splits import assign_folds, block_of, split_of_fold
from ml.data.store import S2_BANDS, PatchData
from ml.nomenclature import Nomenclature

LoadResult = tuple[PatchData, np.ndarray, np.ndarray | None]
_DESCRIPTION = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\S+)$")


class LayoutError(ValueError):
    """The dataset as a whole cannot be read (the message says why and what to fix)."""


@dataclass(frozen=True)
class PatchProblem:
    """Why one patch cannot be ingested; ``reason`` starts with the patch id."""

    patch_id: str
    reason: str


@dataclass
class ScannedPatch:
    """One valid patch of a dataset: its georeference and a loader for its arrays."""

    id: str
    tile: str | None
    crs: str
    transform: Affine
    bounds: tuple[float, float, float, float]
    footprint_wgs84: dict[str, Any]
    height: int
    width: int
    dates: list[date]
    bands: list[str]
    split: str | None = None
    block: str | None = None
    fold: int | None = None
    loader: Callable[[], LoadResult] | None = field(default=None, repr=False)

    def load(self) -> LoadResult:
        """(PatchData, labels (H, W) uint8, clean reference labels or None)."""
        if self.loader is None:
            raise RuntimeError(f"patch {self.id} has no loader")
        return self.loader()


@dataclass
class DatasetScan:
    """The result of validating a dataset folder: good patches and the bad ones' reasons."""

    name: str
    format: str
    nomenclature: Nomenclature
    bands: list[str]
    patches: list[ScannedPatch]
    problems: list[PatchProblem]

    @property
    def ok(self) -> bool:
        """True when every patch passed every check."""
        return not self.problems

    @property
    def bad_ids(self) -> list[str]:
        """Ids of the patches with at least one problem, in dataset order."""
        return list(dict.fromkeys(p.patch_id for p in self.problems))


def band_description(day: date, band: str) -> str:
    """The GeoTIFF band description of one (date, band): "2024-03-05 B4"."""
    return f"{day.isoformat()} {band}"


def parse_description(text: str | None) -> tuple[date, str] | None:
    """(date, band) from a band description, None when it does not follow the convention."""
    match = _DESCRIPTION.match((text or "").strip())
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1)), match.group(2)
    except ValueError:
        return None


def check_bands(bands: Any) -> list[str]:
    """Validate a dataset's band list (Sentinel-2 names, no repeats, canonical order)."""
    if not isinstance(bands, list) or not bands or not all(isinstance(b, str) for b in bands):
        raise LayoutError("'bands' must be a non-empty list of band names such as B2, B3, B4")
    unknown = [b for b in bands if b not in S2_BANDS]
    if unknown:
        raise LayoutError(f"unknown band name(s) {', '.join(unknown)}; use {' '.join(S2_BANDS)}")
    if len(set(bands)) != len(bands) or sorted(bands, key=S2_BANDS.index) != bands:
        raise LayoutError(f"bands must be distinct and in the order {' '.join(S2_BANDS)}")
    return list(bands)


def check_dates(pid: str, dates: Iterable[date]) -> list[str]:
    """Reasons (possibly none) why a date sequence is unusable."""
    dates = list(dates)
    if not dates:
        return [f"patch {pid}: no acquisition dates"]
    for i, (a, b) in enumerate(zip(dates, dates[1:], strict=False)):
        if b <= a:
            return [
                f"patch {pid}: dates are not strictly increasing "
                f"(date {i + 2} is {b.isoformat()}, after {a.isoformat()}); "
                "sort them and the bands with them"
            ]
    return []


def check_codes(pid: str, what: str, labels: np.ndarray, nomenclature: Nomenclature) -> list[str]:
    """Reasons if a label raster holds codes the nomenclature does not define."""
    present = np.flatnonzero(np.bincount(labels.ravel().astype(np.int64), minlength=1))
    unknown = sorted(set(present.tolist()) - set(nomenclature.codes))
    if not unknown:
        return []
    shown = ", ".join(str(c) for c in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
    return [
        f"patch {pid}: {what} holds code(s) {shown} not defined in nomenclature "
        f"{nomenclature.name!r}; fix the labels or ingest with the right nomenclature"
    ]


def crs_string(crs: CRS) -> str:
    """ "EPSG:n" when the CRS has an EPSG code, its WKT otherwise."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def footprint_wgs84(crs: str, bounds: tuple[float, float, float, float]) -> dict[str, Any]:
    """The patch outline as a GeoJSON polygon in EPSG:4326 (lon, lat)."""
    x0, y0, x1, y1 = bounds
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    geom = transform_geom(crs, "EPSG:4326", {"type": "Polygon", "coordinates": [ring]})
    return {"type": "Polygon", "coordinates": [[list(p) for p in r] for r in geom["coordinates"]]}


def fill_missing_splits(patches: list[ScannedPatch], seed: int = 0) -> None:
    """Give a split to patches that came without one, dealing whole blocks to folds.

    Patches keep the block their dataset declared; others get a square block of 4 x 4
    patch widths in their own CRS (prefixed by the CRS when a dataset spans several).
    """
    missing = [p for p in patches if p.split is None]
    unblocked = [p for p in missing if not p.block]
    crss = sorted({p.crs for p in unblocked})
    for crs in crss:
        group = [p for p in unblocked if p.crs == crs]
        side = 4 * float(np.median([abs(p.transform.a) * p.width for p in group]))
        for p in group:
            cx, cy = (p.bounds[0] + p.bounds[2]) / 2, (p.bounds[1] + p.bounds[3]) / 2
            p.block = (f"{crs}/" if len(crss) > 1 else "") + block_of(cx, cy, side)
    folds = assign_folds([p.block or "" for p in missing], seed=seed)
    for p in missing:
        p.fold = folds[p.block or ""]
        p.split = split_of_fold(p.fold)


def inside(root: Path, relative: Any) -> Path | None:
    """``root / relative`` if it is a string path that stays inside ``root``, else None."""
    if not isinstance(relative, str) or not relative:
        return None
    path = (root / relative).resolve()
    return path if path.is_relative_to(root.resolve()) else None
