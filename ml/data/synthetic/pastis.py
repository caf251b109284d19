"""The synthetic benchmark in the PASTIS layout, to exercise the PASTIS reader end to end.

PASTIS (Sainte Fare Garnot & Landrieu, ICCV 2021) labels crops only: with
``classes="pastis"`` OSO crop codes are mapped to the closest PASTIS class and every
other class becomes 0 (background), rice (absent from PASTIS) 19 (void). With
``classes="oso"`` the OSO codes are kept and the GeoJSON names the nomenclature. Like
the real files, arrays carry no georeference (the footprints and the GeoJSON "crs" member
do) and there is no cloud mask, although the images are cloudy.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ml.data.layouts import scan
from ml.data.synthetic.generator import SynthSummary, generate

OSO_TO_PASTIS = {13: 1, 6: 2, 10: 3, 5: 5, 9: 7, 15: 8, 12: 13, 7: 14, 8: 15, 14: 16, 11: 19}
FIRST_ID = 10000  # PASTIS patch ids are integers from 10000


def oso_to_pastis(labels: np.ndarray) -> np.ndarray:
    """Map OSO 2018 codes to PASTIS codes (non-crop classes become 0, background)."""
    table = np.zeros(256, np.uint8)
    for oso, pastis in OSO_TO_PASTIS.items():
        table[oso] = pastis
    return table[labels]


def to_pastis(source: Path, out_dir: Path, *, classes: str = "pastis") -> int:
    """Convert a GeoTIFF-layout dataset into the PASTIS layout; returns the patch count."""
    if classes not in ("pastis", "oso"):
        raise ValueError(f"classes must be 'pastis' or 'oso', got {classes!r}")
    dataset = scan(source, format="geotiff")
    if dataset.problems:
        raise ValueError(f"{source.name} has invalid patches: {dataset.problems[0].reason}")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ValueError(f"{out_dir} already exists and is not empty; choose a new folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        (tmp / "DATA_S2").mkdir()
        (tmp / "ANNOTATIONS").mkdir()
        features: list[dict[str, Any]] = []
        stats: dict[int, np.ndarray] = {}
        crs = dataset.patches[0].crs
        for i, patch in enumerate(dataset.patches):
            pid = FIRST_ID + i
            data, labels, reference = patch.load()
            if classes == "pastis":
                labels = oso_to_pastis(labels)
                reference = oso_to_pastis(reference) if reference is not None else None
            np.save(tmp / "DATA_S2" / f"S2_{pid}.npy", np.ascontiguousarray(data.series))
            target = np.zeros((3, *labels.shape), np.uint8)
            target[0] = labels
            np.save(tmp / "ANNOTATIONS" / f"TARGET_{pid}.npy", target)
            if reference is not None:
                np.save(tmp / "ANNOTATIONS" / f"REFERENCE_{pid}.npy", reference)
            values = (
                data.series.transpose(1, 0, 2, 3)
                .reshape(data.series.shape[1], -1)
                .astype(np.float64)
            )
            total = stats.setdefault(patch.fold or 1, np.zeros((3, values.shape[0])))
            total += [
                values.sum(axis=1),
                (values**2).sum(axis=1),
                np.full(values.shape[0], values.shape[1]),
            ]
            features.append(_feature(pid, patch))
        geojson: dict[str, Any] = {
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": _urn(crs)}},
            "features": features,
        }
        if classes == "oso":
            geojson["nomenclature"] = dataset.nomenclature.name
        (tmp / "metadata.geojson").write_text(json.dumps(geojson))
        (tmp / "NORM_S2_patch.json").write_text(json.dumps(_norm(stats), indent=1))
        if out_dir.exists():
            out_dir.rmdir()
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return len(features)


def write_pastis(
    out_dir: Path,
    *,
    n_patches: int,
    patch_size: int = 64,
    n_dates: int = 30,
    seed: int = 0,
    noise_rate: float = 0.05,
    cloud_fraction: float = 0.2,
    year: int = 2024,
    classes: str = "pastis",
    progress: Callable[[int, int], None] | None = None,
) -> SynthSummary:
    """Generate the synthetic benchmark (same arguments as ``generate``) in the PASTIS layout."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.src.", dir=out_dir.parent))
    try:
        summary = generate(
            work / "geotiff",
            n_patches=n_patches,
            patch_size=patch_size,
            n_dates=n_dates,
            seed=seed,
            noise_rate=noise_rate,
            cloud_fraction=cloud_fraction,
            year=year,
            progress=progress,
        )
        to_pastis(work / "geotiff", out_dir, classes=classes)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary.out_dir = out_dir
    return summary


def _feature(pid: int, patch: Any) -> dict[str, Any]:
    x0, y0, x1, y1 = patch.bounds
    return {
        "type": "Feature",
        "properties": {
            "ID_PATCH": pid,
            "TILE": patch.tile,
            "Fold": patch.fold,
            "dates-S2": {str(i): int(d.strftime("%Y%m%d")) for i, d in enumerate(patch.dates)},
        },
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
        },
    }


def _urn(crs: str) -> str:
    return f"urn:ogc:def:crs:EPSG::{crs.split(':')[1]}" if crs.startswith("EPSG:") else crs


def _norm(stats: dict[int, np.ndarray]) -> dict[str, dict[str, list[float]]]:
    """Per-fold channel mean and std (from sums, sums of squares, counts), as NORM_S2_patch.json."""
    out = {}
    for fold, (total, squares, count) in sorted(stats.items()):
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
        out[f"Fold_{fold}"] = {"mean": mean.tolist(), "std": std.tolist()}
    return out
