"""Reader of the PASTIS layout (Sainte Fare Garnot & Landrieu, ICCV 2021), U-BARN's benchmark.

    DATA_S2/S2_<id>.npy          (T, C, H, W) int16, C = the 10 Sentinel-2 bands
    ANNOTATIONS/TARGET_<id>.npy  (k, H, W) or (H, W); channel 0 = semantic class
    metadata.geojson             one feature per patch: ID_PATCH, footprint, dates-S2, Fold

The arrays carry no georeference: the CRS is the GeoJSON "crs" member (real PASTIS is
in Lambert-93, EPSG:2154, the default) and the transform comes from the footprint's
bounds and the array size. PASTIS ships no cloud mask, so every pixel is marked clear.
A ``REFERENCE_<id>.npy`` beside the target (written by sitslab's synthetic generator)
is read as the clean reference label.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import CRSError
from shapely.geometry import shape

from ml.data.layouts.common import (
    DatasetScan,
    LayoutError,
    LoadResult,
    PatchProblem,
    ScannedPatch,
    check_codes,
    check_dates,
    crs_string,
    fill_missing_splits,
    footprint_wgs84,
)
from ml.data.splits import split_of_fold
from ml.data.store import S2_BANDS, PatchData
from ml.nomenclature import Nomenclature

METADATA = "metadata.geojson"
DEFAULT_CRS = "EPSG:2154"


def read_metadata(root: Path) -> tuple[list[dict[str, Any]], str, dict[str, Any]]:
    """(features, CRS string, the whole GeoJSON object); LayoutError when unusable."""
    path = root / METADATA
    if not path.is_file():
        raise LayoutError(f"{root.name}: no {METADATA}; a PASTIS dataset needs one")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LayoutError(f"{METADATA} is not valid JSON ({exc})") from exc
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list) or not features:
        raise LayoutError(
            f"{METADATA} must be a GeoJSON FeatureCollection with at least one feature"
        )
    name = (data.get("crs") or {}).get("properties", {}).get("name", DEFAULT_CRS)
    try:
        crs = crs_string(CRS.from_user_input(name))
    except CRSError as exc:
        raise LayoutError(f"{METADATA}: unknown CRS {name!r} ({exc})") from exc
    return features, crs, data


def scan_pastis(root: Path, nomenclature: Nomenclature, *, workers: int = 4) -> DatasetScan:
    """Validate every patch of a PASTIS-layout dataset; nothing is written."""
    features, crs, _ = read_metadata(root)
    problems: list[PatchProblem] = []
    todo = []
    seen: set[str] = set()
    for i, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, dict) else None
        raw = props.get("ID_PATCH") if isinstance(props, dict) else None
        pid = str(int(raw)) if isinstance(raw, (int, float)) else str(raw or "").strip()
        if not pid:
            problems.append(
                PatchProblem(f"#{i + 1}", f"patch #{i + 1}: feature has no ID_PATCH property")
            )
        elif pid in seen:
            problems.append(
                PatchProblem(pid, f"patch {pid}: duplicate ID_PATCH (feature #{i + 1})")
            )
        else:
            seen.add(pid)
            todo.append((pid, feature))
    with ThreadPoolExecutor(max(1, workers)) as pool:
        results = list(
            pool.map(lambda item: _check_patch(root, item[0], item[1], crs, nomenclature), todo)
        )
    patches = []
    for (pid, _), (patch, reasons) in zip(todo, results, strict=True):
        problems.extend(PatchProblem(pid, r) for r in reasons)
        if patch is not None:
            patches.append(patch)
    fill_missing_splits(patches)
    return DatasetScan(root.name, "pastis", nomenclature, list(S2_BANDS), patches, problems)


def parse_pastis_dates(pid: str, raw: Any) -> tuple[list[date] | None, list[str]]:
    """Dates from PASTIS's ``dates-S2`` ({"0": 20180924, ...}, maybe as a JSON string)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return None, [f"patch {pid}: dates-S2 is not valid JSON"]
    if isinstance(raw, dict):
        try:
            values = [raw[k] for k in sorted(raw, key=int)]
        except ValueError:
            return None, [f"patch {pid}: dates-S2 keys must be the positions 0, 1, 2, ..."]
    elif isinstance(raw, list):
        values = raw
    else:
        return None, [f"patch {pid}: no dates-S2 property"]
    dates = []
    for value in values:
        text = str(value).replace("-", "")
        try:
            if len(text) != 8 or not text.isdigit():
                raise ValueError(text)
            dates.append(date(int(text[:4]), int(text[4:6]), int(text[6:8])))
        except ValueError:
            return None, [f"patch {pid}: date {value!r} is not a YYYYMMDD date"]
    return dates, []


def _check_patch(
    root: Path, pid: str, feature: dict[str, Any], crs: str, nomenclature: Nomenclature
) -> tuple[ScannedPatch | None, list[str]]:
    props = feature["properties"]
    dates, reasons = parse_pastis_dates(pid, props.get("dates-S2"))
    if dates is not None:
        reasons += check_dates(pid, dates)
    try:
        bounds = tuple(shape(feature["geometry"]).bounds)
        if len(bounds) != 4 or bounds[2] <= bounds[0] or bounds[3] <= bounds[1]:
            raise ValueError("empty footprint")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        reasons.append(f"patch {pid}: footprint geometry is missing or invalid ({exc})")
        bounds = None
    s2_path = root / "DATA_S2" / f"S2_{pid}.npy"
    series, why = _open_npy(pid, s2_path, "image")
    reasons += why
    if series is not None:
        if series.ndim != 4 or series.dtype != np.int16:
            reasons.append(
                f"patch {pid}: {s2_path.name} must be a (T, C, H, W) int16 array, "
                f"got {series.dtype} {series.shape}"
            )
        elif series.shape[1] != len(S2_BANDS):
            reasons.append(
                f"patch {pid}: {s2_path.name} has {series.shape[1]} bands, expected {len(S2_BANDS)}"
            )
        elif dates is not None and series.shape[0] != len(dates):
            reasons.append(
                f"patch {pid}: {s2_path.name} has {series.shape[0]} dates "
                f"but dates-S2 lists {len(dates)}"
            )
    label_paths = {"label": root / "ANNOTATIONS" / f"TARGET_{pid}.npy"}
    reference_path = root / "ANNOTATIONS" / f"REFERENCE_{pid}.npy"
    if reference_path.is_file():
        label_paths["reference"] = reference_path
    for key, path in label_paths.items():
        labels, why = _open_npy(pid, path, key)
        reasons += why
        if labels is None or series is None or series.ndim != 4:
            continue
        plane = labels[0] if labels.ndim == 3 else labels
        if plane.ndim != 2 or plane.shape != series.shape[2:]:
            reasons.append(
                f"patch {pid}: {path.name} has shape {labels.shape}; "
                f"its label plane must be {series.shape[2:]}"
            )
        elif not np.issubdtype(plane.dtype, np.integer) or plane.min() < 0 or plane.max() > 255:
            reasons.append(f"patch {pid}: {path.name} must hold integer class codes within 0..255")
        else:
            reasons += check_codes(pid, key, np.asarray(plane), nomenclature)
    if reasons or series is None or bounds is None or dates is None:
        return None, reasons
    height, width = series.shape[2], series.shape[3]
    fold = props.get("Fold")
    fold = int(fold) if isinstance(fold, (int, float)) and 1 <= int(fold) <= 5 else None
    patch = ScannedPatch(
        id=pid,
        tile=props.get("TILE"),
        crs=crs,
        transform=Affine(
            (bounds[2] - bounds[0]) / width,
            0.0,
            bounds[0],
            0.0,
            -(bounds[3] - bounds[1]) / height,
            bounds[3],
        ),
        bounds=bounds,  # type: ignore[arg-type]
        footprint_wgs84=footprint_wgs84(crs, bounds),  # type: ignore[arg-type]
        height=height,
        width=width,
        dates=dates,
        bands=list(S2_BANDS),
        split=split_of_fold(fold) if fold else None,
        block=f"fold{fold}" if fold else None,
        fold=fold,
    )
    patch.loader = lambda: _load(s2_path, label_paths, patch)
    return patch, []


def _open_npy(pid: str, path: Path, what: str) -> tuple[np.ndarray | None, list[str]]:
    if not path.is_file():
        return None, [f"patch {pid}: {what} file {path.parent.name}/{path.name} does not exist"]
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False), []
    except (ValueError, OSError, EOFError) as exc:
        return None, [
            f"patch {pid}: {path.name} cannot be read as a .npy array ({exc}); the file is corrupt"
        ]


def _load(s2_path: Path, label_paths: dict[str, Path], patch: ScannedPatch) -> LoadResult:
    series = np.load(s2_path).astype(np.int16, copy=False)
    clouds = np.zeros((series.shape[0], patch.height, patch.width), np.uint8)

    def plane(path: Path) -> np.ndarray:
        arr = np.load(path)
        return (arr[0] if arr.ndim == 3 else arr).astype(np.uint8)

    reference = plane(label_paths["reference"]) if "reference" in label_paths else None
    data = PatchData(
        series, clouds, list(patch.dates), list(patch.bands), patch.crs, patch.transform
    )
    return data, plane(label_paths["label"]), reference
