"""The JSON records of a synthetic dataset: manifest.json and noise_truth.json.

The manifest is the GeoTIFF layout's index (docs/data-format.md); the noise truth says,
for every altered parcel and every patch, what label noise was injected, so that
label-error detection (e.g. RF out-of-fold suspicion ranking) can be scored.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ml.data.splits import SplitAssignment
from ml.data.store import NODATA, S2_BANDS
from ml.data.synthetic.noise import LabelNoise
from ml.data.synthetic.orbits import Calendars

FORMAT, FORMAT_VERSION = "sitslab-geotiff", 1
CRS = "EPSG:32631"
TILE = "31TCJ"
NOMENCLATURE = "oso-2018"


def patch_window(index: int, grid: int, size: int) -> tuple[slice, slice]:
    """Scene rows and columns of patch ``index`` in a row-major grid of ``grid`` columns."""
    row, col = divmod(index, grid)
    return slice(row * size, (row + 1) * size), slice(col * size, (col + 1) * size)


def patch_pixels(reference: np.ndarray, grid: int, size: int, n: int) -> np.ndarray:
    """The reference codes of the pixels that lie in written patches (flattened)."""
    return np.concatenate([reference[patch_window(i, grid, size)].ravel() for i in range(n)])


def manifest(
    name: str,
    ids: list[str],
    calendars: Calendars,
    splits: dict[str, SplitAssignment],
    grid: int,
    generator: dict[str, Any],
) -> dict[str, Any]:
    """The GeoTIFF layout manifest of a synthetic dataset.

    Dates shared by every patch when one orbit acquires the scene; otherwise each patch
    lists its own, and the orbits that acquired them.
    """
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "name": name,
        "nomenclature": NOMENCLATURE,
        "bands": list(S2_BANDS),
        "crs": CRS,
        "nodata": NODATA,
        **({"dates": [d.isoformat() for d in calendars.dates]} if calendars.shared else {}),
        "patches": [
            {
                "id": pid,
                "image": f"images/{pid}.tif",
                "label": f"labels/{pid}.tif",
                "clouds": f"clouds/{pid}.tif",
                "reference": f"reference/{pid}.tif",
                "tile": TILE,
                "split": splits[pid].split,
                "fold": splits[pid].fold,
                "block": splits[pid].block,
                "row": i // grid,
                "col": i % grid,
                **({} if calendars.shared else _patch_calendar(calendars, i % grid)),
            }
            for i, pid in enumerate(ids)
        ],
        "scene": {
            "series": "scene/series.tif",
            "clouds": "scene/clouds.tif",
            "labels": "scene/labels.tif",
            "reference": "scene/reference.tif",
            "parcels": "scene/parcels.tif",
        },
        "noise_truth": "noise_truth.json",
        "generator": generator,
    }


def _patch_calendar(calendars: Calendars, col: int) -> dict[str, Any]:
    return {
        "dates": [d.isoformat() for d in calendars.dates_of(col)],
        "orbits": calendars.column_orbits[col],
    }


def noise_truth(
    noise: LabelNoise,
    reference: np.ndarray,
    ids: list[str],
    grid: int,
    size: int,
    noise_rate: float,
) -> dict[str, Any]:
    """Per altered parcel: kind, classes, changed pixels, box, patches; per patch: changes."""
    changed = noise.labels != reference
    patches = {}
    for i, pid in enumerate(ids):
        n = int(changed[patch_window(i, grid, size)].sum())
        patches[pid] = {"changed_pixels": n, "changed_fraction": n / (size * size), "parcels": []}
    altered = []
    for record in noise.altered:
        r0, r1, c0, c1 = record["box"]
        touched = []
        for row in range(r0 // size, (r1 - 1) // size + 1):
            for col in range(c0 // size, (c1 - 1) // size + 1):
                index = row * grid + col
                if col >= grid or index >= len(ids):
                    continue
                ys = slice(max(r0, row * size), min(r1, (row + 1) * size))
                xs = slice(max(c0, col * size), min(c1, (col + 1) * size))
                if changed[ys, xs].any():
                    touched.append(ids[index])
                    patches[ids[index]]["parcels"].append(record["parcel"])
        altered.append({**record, "patches": touched})
    return {
        "noise_rate": noise_rate,
        "eligible_parcels": noise.eligible,
        "parcels_raster": "scene/parcels.tif",
        "altered": altered,
        "patches": patches,
    }
