"""Reader of the GeoTIFF layout: manifest.json + one multi-band GeoTIFF per patch.

See docs/data-format.md. Every patch is checked (files open, CRS present, band count =
dates x bands, band descriptions agree, dates increasing, label/clouds/reference on the
image's grid, label codes in the nomenclature, pixel data decodes) before the caller
writes anything.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import RasterioError
from rasterio.transform import array_bounds

from ml.data.layouts.common import (
    DatasetScan,
    LayoutError,
    LoadResult,
    PatchProblem,
    ScannedPatch,
    check_bands,
    check_dates,
    crs_string,
    fill_missing_splits,
    footprint_wgs84,
    inside,
    parse_description,
)
from ml.data.layouts.rasters import RasterGrid, check_clouds, check_descriptions, check_label
from ml.data.splits import N_FOLDS, SPLITS, split_of_fold
from ml.data.store import S2_BANDS, PatchData
from ml.nomenclature import Nomenclature

FORMAT = "sitslab-geotiff"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


@dataclass
class _Context:
    root: Path
    bands: list[str]
    dates: Any
    nomenclature: Nomenclature
    check_pixels: bool


def read_manifest(root: Path) -> dict[str, Any]:
    """The parsed manifest; LayoutError when it is missing, unreadable or of another format."""
    path = root / MANIFEST
    if not path.is_file():
        raise LayoutError(
            f"{root.name}: no {MANIFEST}; a GeoTIFF dataset needs one (see docs/data-format.md)"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LayoutError(f"{MANIFEST} is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict):
        raise LayoutError(f"{MANIFEST} must hold a JSON object")
    if manifest.get("format", FORMAT) != FORMAT:
        raise LayoutError(
            f"{MANIFEST} declares format {manifest.get('format')!r}, expected {FORMAT!r}"
        )
    if int(manifest.get("version", FORMAT_VERSION)) > FORMAT_VERSION:
        raise LayoutError(
            f"{MANIFEST} is version {manifest['version']}; "
            f"this sitslab reads up to {FORMAT_VERSION}"
        )
    if not isinstance(manifest.get("patches"), list) or not manifest["patches"]:
        raise LayoutError(f"{MANIFEST} needs a non-empty 'patches' list")
    return manifest


def scan_geotiff(
    root: Path, nomenclature: Nomenclature, *, check_pixels: bool = True, workers: int = 4
) -> DatasetScan:
    """Validate every patch of a GeoTIFF-layout dataset; nothing is written."""
    manifest = read_manifest(root)
    ctx = _Context(
        root,
        check_bands(manifest.get("bands", list(S2_BANDS))),
        manifest.get("dates"),
        nomenclature,
        check_pixels,
    )
    entries = manifest["patches"]
    problems: list[PatchProblem] = []
    seen: dict[str, int] = {}
    todo = []
    for i, entry in enumerate(entries):
        pid = str(entry.get("id", "")).strip() if isinstance(entry, dict) else ""
        if not pid:
            problems.append(
                PatchProblem(f"#{i + 1}", f"patch #{i + 1}: manifest entry needs an 'id'")
            )
        elif pid in seen:
            problems.append(
                PatchProblem(
                    pid,
                    f"patch {pid}: duplicate id (entry #{i + 1} repeats entry #{seen[pid] + 1})",
                )
            )
        else:
            seen[pid] = i
            todo.append((pid, entry))
    with ThreadPoolExecutor(max(1, workers)) as pool:
        results = list(pool.map(lambda item: _check_patch(item[0], item[1], ctx), todo))
    patches = []
    for (pid, _), (patch, reasons) in zip(todo, results, strict=True):
        problems.extend(PatchProblem(pid, r) for r in reasons)
        if patch is not None:
            patches.append(patch)
    fill_missing_splits(patches)
    name = str(manifest.get("name") or root.name)
    return DatasetScan(name, "geotiff", nomenclature, ctx.bands, patches, problems)


def _check_patch(
    pid: str, entry: dict[str, Any], ctx: _Context
) -> tuple[ScannedPatch | None, list[str]]:
    reasons: list[str] = []
    paths: dict[str, Path] = {}
    for key in ("image", "label", "clouds", "reference"):
        if entry.get(key) is None:
            if key in ("image", "label"):
                reasons.append(f"patch {pid}: manifest entry has no '{key}' file")
            continue
        path = inside(ctx.root, entry[key])
        if path is None:
            reasons.append(
                f"patch {pid}: {key} path {entry[key]!r} must be relative "
                "and inside the dataset folder"
            )
        elif not path.is_file():
            reasons.append(f"patch {pid}: {key} file {entry[key]} does not exist")
        else:
            paths[key] = path
    if "image" not in paths:
        return None, reasons
    try:
        with rasterio.open(paths["image"]) as src:
            grid = RasterGrid(src.crs, src.transform, src.width, src.height)
            count, dtype, descriptions = src.count, src.dtypes[0], src.descriptions
            undecodable = _undecodable(src) if ctx.check_pixels else None
    except (RasterioError, OSError) as exc:
        return None, [
            *reasons,
            f"patch {pid}: image {entry['image']} cannot be opened as a GeoTIFF ({exc})",
        ]
    if not grid.crs:
        reasons.append(
            f"patch {pid}: image {entry['image']} has no CRS; "
            "the GeoTIFF layout needs georeferenced images"
        )
    if dtype != "int16":
        reasons.append(f"patch {pid}: image is {dtype}; expected int16 reflectance x 10000")
    dates, date_reasons = _dates(pid, entry, ctx, descriptions, count)
    reasons += date_reasons
    n_bands = len(ctx.bands)
    if dates is not None:
        reasons += check_dates(pid, dates)
        if count != len(dates) * n_bands:
            reasons.append(
                f"patch {pid}: image has {count} bands, but {len(dates)} dates x {n_bands} bands = "
                f"{len(dates) * n_bands} were expected"
            )
        else:
            reasons += check_descriptions(pid, descriptions, dates, ctx.bands)
    for key in ("label", "reference"):
        if key in paths:
            reasons += check_label(pid, key, paths[key], grid, ctx.nomenclature)
    if "clouds" in paths and dates is not None:
        reasons += check_clouds(pid, paths["clouds"], grid, len(dates), ctx.check_pixels)
    if entry.get("split") is not None and entry["split"] not in SPLITS:
        reasons.append(f"patch {pid}: split {entry['split']!r} is not one of {', '.join(SPLITS)}")
    fold = entry.get("fold")
    if fold is not None and not (isinstance(fold, int) and 1 <= fold <= N_FOLDS):
        reasons.append(f"patch {pid}: fold {fold!r} is not an integer within 1..{N_FOLDS}")
    if undecodable:
        reasons.append(
            f"patch {pid}: image pixel data cannot be decoded ({undecodable}); the file is corrupt"
        )
    if reasons or dates is None:
        return None, reasons
    crs = crs_string(grid.crs)
    t = grid.transform
    bounds = array_bounds(grid.height, grid.width, t)
    split = entry.get("split")
    if split is None and fold is not None:
        split = split_of_fold(fold)
    patch = ScannedPatch(
        id=pid,
        tile=entry.get("tile"),
        crs=crs,
        transform=t,
        bounds=bounds,
        footprint_wgs84=footprint_wgs84(crs, bounds),
        height=grid.height,
        width=grid.width,
        dates=dates,
        bands=list(ctx.bands),
        split=split,
        block=str(entry["block"]) if entry.get("block") is not None else None,
        fold=fold,
    )
    patch.loader = lambda: _load(paths, patch)
    return patch, []


def _dates(
    pid: str, entry: dict[str, Any], ctx: _Context, descriptions: tuple[str | None, ...], count: int
) -> tuple[list[date] | None, list[str]]:
    raw = entry.get("dates", ctx.dates)
    if raw is None:
        parsed = [parse_description(d) for d in descriptions]
        n = len(ctx.bands)
        if count % n or any(p is None for p in parsed):
            return None, [
                f"patch {pid}: no dates; list them in the manifest "
                "or describe the image bands as 'YYYY-MM-DD B4'"
            ]
        return [parsed[i][0] for i in range(0, count, n)], []  # type: ignore[index]
    if not isinstance(raw, list):
        return None, [f"patch {pid}: 'dates' must be a list of YYYY-MM-DD strings"]
    dates = []
    for value in raw:
        try:
            dates.append(date.fromisoformat(str(value)))
        except ValueError:
            return None, [f"patch {pid}: date {value!r} is not a valid YYYY-MM-DD date"]
    return dates, []


def _undecodable(src: Any) -> str | None:
    """Why the image's pixels cannot be read, or None when every block decodes."""
    try:
        src.read()
    except (RasterioError, OSError) as exc:
        return str(exc)
    return None


def _load(paths: dict[str, Path], patch: ScannedPatch) -> LoadResult:
    n_dates, n_bands = len(patch.dates), len(patch.bands)
    with rasterio.open(paths["image"]) as src:
        series = src.read().reshape(n_dates, n_bands, patch.height, patch.width)
    if "clouds" in paths:
        with rasterio.open(paths["clouds"]) as src:
            clouds = src.read().astype(np.uint8, copy=False)
    else:
        clouds = np.zeros((n_dates, patch.height, patch.width), np.uint8)
    with rasterio.open(paths["label"]) as src:
        labels = src.read(1)
    reference = None
    if "reference" in paths:
        with rasterio.open(paths["reference"]) as src:
            reference = src.read(1)
    data = PatchData(
        series, clouds, list(patch.dates), list(patch.bands), patch.crs, patch.transform
    )
    return data, labels, reference
