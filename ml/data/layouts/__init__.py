"""Dataset layout readers: validate a folder, then load its patches in the canonical form.

``scan`` checks every patch of a dataset (PASTIS or GeoTIFF layout, see
docs/data-format.md) and returns the good ones with a loader plus, for each bad one, a
reason a person can act on. It never writes: the caller (ingest) decides what to do.
"""

from __future__ import annotations

import os
from pathlib import Path

from ml.data.layouts.common import DatasetScan, LayoutError, PatchProblem, ScannedPatch
from ml.data.layouts.geotiff import MANIFEST, read_manifest, scan_geotiff
from ml.data.layouts.pastis import METADATA, read_metadata, scan_pastis
from ml.nomenclature import Nomenclature, builtin

FORMATS = ("geotiff", "pastis")

__all__ = [
    "FORMATS",
    "DatasetScan",
    "LayoutError",
    "PatchProblem",
    "ScannedPatch",
    "detect_format",
    "scan",
]


def detect_format(path: Path) -> str:
    """ "geotiff" when the folder has manifest.json, "pastis" when it has metadata.geojson."""
    path = Path(path)
    if not path.is_dir():
        raise LayoutError(f"{path.name}: not a folder")
    if (path / MANIFEST).is_file():
        return "geotiff"
    if (path / METADATA).is_file():
        return "pastis"
    raise LayoutError(
        f"{path.name}: cannot tell the layout; "
        f"a GeoTIFF dataset has {MANIFEST}, a PASTIS one {METADATA}"
    )


def scan(
    path: Path,
    format: str | None = None,
    nomenclature: Nomenclature | None = None,
    *,
    check_pixels: bool = True,
    workers: int | None = None,
) -> DatasetScan:
    """Validate a dataset folder and list its valid patches and the problems of the others.

    Args:
        path: the dataset folder.
        format: "geotiff" or "pastis"; detected from the folder's files when None.
        nomenclature: overrides the one the dataset names (manifest "nomenclature" or the
            GeoJSON's "nomenclature" member); defaults are OSO 2018 for GeoTIFF, PASTIS for PASTIS.
        check_pixels: also decode every GeoTIFF image and cloud mask (catches corrupt data).
        workers: threads used to check patches (default: the CPU count, at most 8).
    Raises:
        LayoutError: the dataset as a whole is unreadable (no manifest, bad nomenclature...).
    """
    path = Path(path)
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise LayoutError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    n_workers = workers or min(8, os.cpu_count() or 1)
    if fmt == "geotiff":
        declared = read_manifest(path).get("nomenclature", "oso-2018")
        legend = nomenclature or _resolve(declared)
        return scan_geotiff(path, legend, check_pixels=check_pixels, workers=n_workers)
    declared = read_metadata(path)[2].get("nomenclature", "pastis")
    return scan_pastis(path, nomenclature or _resolve(declared), workers=n_workers)


def _resolve(declared: object) -> Nomenclature:
    try:
        if isinstance(declared, str):
            return builtin(declared)
        return Nomenclature.from_dict(declared, "the dataset's nomenclature")
    except ValueError as exc:
        raise LayoutError(str(exc)) from exc
