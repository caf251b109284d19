"""The files of an export: CSV tables, a GeoPackage of patch footprints, label GeoTIFFs.

The GeoPackage is written with pyogrio's raw API (WKB geometries from shapely), which needs
no GeoDataFrame; its `patches` layer holds the footprints (EPSG:4326) with each patch's
status, and its `decisions` layer is a plain attribute table of the full history.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from pyogrio import raw
from shapely.geometry import shape

from backend.config import get_settings
from backend.models import Dataset
from ml.data import store
from ml.data.layouts.geotiff import FORMAT as LAYOUT_FORMAT
from ml.data.layouts.geotiff import FORMAT_VERSION as LAYOUT_VERSION
from ml.data.synthetic import writer as geotiff
from ml.nomenclature import Nomenclature

PATCH_FIELDS = (
    "patch_id", "dataset", "external_id", "status", "split", "block", "tile", "suspicion",
    "n_decisions", "last_decision", "last_decision_at", "annotators", "current_version",
)  # fmt: skip
DECISION_FIELDS = (
    "decision_id", "dataset", "patch_id", "external_id", "campaign_id", "user", "kind",
    "judged_version", "new_version", "undoes_id", "comment", "confidence", "time_spent_ms",
    "view", "date_shown", "created_at",
)  # fmt: skip
INT_FIELDS = {
    "patch_id", "n_decisions", "current_version", "decision_id", "campaign_id", "judged_version",
    "new_version", "undoes_id", "confidence", "time_spent_ms",
}  # fmt: skip
FLOAT_FIELDS = {"suspicion"}
WRITERS = 4


def write_summary(
    folder: Path,
    moment: datetime,
    formats: Sequence[str],
    patches: list[dict],
    decisions: list[dict],
) -> Path:
    """export.json: when the database was read, what is inside, and counts to check against."""
    path = folder / "export.json"
    path.write_text(
        json.dumps(
            {
                "snapshot_at": moment.isoformat(),
                "formats": list(formats),
                "datasets": sorted({p["dataset"] for p in patches}),
                "n_patches": len(patches),
                "n_decisions": len(decisions),
                "by_status": _count(p["status"] for p in patches),
            },
            indent=1,
        )
    )
    return path


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


def write_csv(folder: Path, patches: list[dict], decisions: list[dict]) -> list[Path]:
    """patches.csv (one row per patch, its status) and decisions.csv (the full history)."""
    out = []
    for name, fields, rows in (
        ("patches", PATCH_FIELDS, patches),
        ("decisions", DECISION_FIELDS, decisions),
    ):
        path = folder / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        out.append(path)
    return out


def _column(name: str, rows: list[dict]) -> tuple[np.ndarray, np.ndarray | None]:
    """One attribute column as pyogrio wants it: typed values plus a null mask."""
    values = [r[name] for r in rows]
    missing = np.array([v is None for v in values], dtype=bool)
    if name in INT_FIELDS:
        return np.array([0 if v is None else v for v in values], dtype=np.int64), missing
    if name in FLOAT_FIELDS:
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64), None
    return np.array(values, dtype=object), None


def _write_layer(
    path: Path, layer: str, fields: Sequence[str], rows: list[dict], geometry: Any
) -> None:
    columns = [_column(f, rows) for f in fields]
    raw.write(
        str(path),
        geometry,
        [c[0] for c in columns],
        list(fields),
        field_mask=[c[1] for c in columns],
        layer=layer,
        driver="GPKG",
        geometry_type="Polygon" if geometry is not None else None,
        crs="EPSG:4326" if geometry is not None else None,
        append=path.exists(),
    )


def write_gpkg(folder: Path, patches: list[dict], decisions: list[dict]) -> Path:
    """validation.gpkg: `patches` (footprints EPSG:4326 + status) and `decisions` (table)."""
    path = folder / "validation.gpkg"
    geometry = np.array([shape(p["footprint"]).wkb for p in patches], dtype=object)
    _write_layer(path, "patches", PATCH_FIELDS, patches, geometry)
    _write_layer(path, "decisions", DECISION_FIELDS, decisions, None)
    return path


def write_labels(
    folder: Path, dataset: Dataset, nomenclature: Nomenclature, patches: list[dict]
) -> list[Path]:
    """Validated patches as a dataset in the GeoTIFF layout (docs/data-format.md).

    Each patch's current label revision is written as labels/<id>.tif, beside its image
    series and cloud mask, and manifest.json lists them with their split and block: the
    folder reads back with ml.data.layouts (or ``sitslab ingest``), so a training-set
    version can be rebuilt outside the app.
    """
    colormap = nomenclature.colormap()
    for sub in ("images", "clouds", "labels"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    todo = [p for p in patches if p["current_file"] is not None]
    # GDAL compresses without holding the GIL: patches are written on a few threads.
    with ThreadPoolExecutor(WRITERS) as pool:
        entries = list(pool.map(lambda p: _write_patch(folder, p, colormap), todo))
    written = [folder / e[key] for e in entries for key in ("image", "clouds", "label")]
    manifest = folder / "manifest.json"
    geotiff.write_json(
        manifest,
        {
            "format": LAYOUT_FORMAT,
            "version": LAYOUT_VERSION,
            "name": dataset.name,
            "nomenclature": nomenclature.to_dict(),
            "bands": list(dataset.bands),
            "nodata": store.NODATA,
            "patches": entries,
        },
    )
    return [*written, manifest]


def _write_patch(folder: Path, p: dict, colormap: dict) -> dict[str, Any]:
    """One patch's image series, cloud mask and current label; its manifest entry."""
    settings = get_settings()
    data = store.read_patch(settings.path(p["store_dir"]))
    labels = store.read_label(settings.path(p["current_file"]))
    files = {key: f"{key}/{p['external_id']}.tif" for key in ("images", "clouds", "labels")}
    geotiff.write_series(
        folder / files["images"],
        np.asarray(data.series),
        data.dates,
        data.bands,
        data.crs,
        data.transform,
    )
    geotiff.write_mask(
        folder / files["clouds"], np.asarray(data.clouds), data.dates, data.crs, data.transform
    )
    geotiff.write_labels(folder / files["labels"], labels, data.crs, data.transform, colormap)
    return {
        "id": p["external_id"],
        "image": files["images"],
        "clouds": files["clouds"],
        "label": files["labels"],
        "dates": p["dates"],
        "tile": p["tile"],
        "split": p["split"],
        "block": p["block"],
        "status": p["status"],
        "label_version": p["current_version"],
    }
