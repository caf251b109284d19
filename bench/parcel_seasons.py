"""Per parcel of one class in a kept benchmark's test split: its season, and what each run
called it.

A class's F1 on the benchmark's test split is decided by a few parcels (tubers / roots:
27 pieces, 12 of at least 100 pixels), so a per-class score does not say *which* parcels a run
loses, nor why. For every connected piece of the class in the true test labels (at least
``--min-pixels``), this prints its size, its season read from its mean NDVI (each pixel's
clear dates gap-filled daily as OSO's forest does, ``ml.gapfill``; green-up and
senescence where the curve crosses half-way between its low and its peak, and the
season's length between them, which a region's timing shift does not change), and for
each run the share of its pixels named right and the share taken for ``--other``:

    .venv/bin/python bench/parcel_seasons.py DIR rf-100-s3 ubarn-scratch-100-s3 \
        --code 12 --other 9

``DIR`` is a work folder kept by ``bench_experiment.py --keep``, whose runs have been
scored on the true labels (``DIR/reference/RUN/predictions.npz``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from ml.data.snapshot import TrainingSet
from ml.data.store import PatchData, read_label, read_patch
from ml.gapfill import gapfill, to_days


@dataclass(frozen=True)
class Parcel:
    """One piece of the class in a test patch, its season and how each run named it."""

    patch: str
    pixels: int
    green_up: int
    senescence: int
    right: dict[str, float]
    as_other: dict[str, float]

    @property
    def length(self) -> int:
        return self.senescence - self.green_up


def mean_ndvi_season(data: PatchData, mask: np.ndarray) -> tuple[int, int]:
    """(green-up, senescence) days of the year of the masked pixels' mean gap-filled NDVI."""
    red = data.series[:, data.bands.index("B4"), mask].astype(np.float32)
    nir = data.series[:, data.bands.index("B8"), mask].astype(np.float32)
    ndvi = ((nir - red) / np.maximum(nir + red, 1.0)).T[..., None]  # (N, T, 1)
    days = to_days(data.dates)
    clear = data.clouds[:, mask].T == 0
    grid = np.arange(days.min(), days.max() + 1)
    curve = gapfill(ndvi, days, clear, grid)[..., 0].mean(0)
    half = (curve.max() + np.percentile(curve, 5)) / 2
    above = np.flatnonzero(curve > half)
    first_of_year = days.min() - data.dates[0].timetuple().tm_yday + 1
    return int(grid[above[0]] - first_of_year), int(grid[above[-1]] - first_of_year)


def parcels(folder: Path, runs: list[str], code: int, other: int, min_pixels: int) -> list[Parcel]:
    """Every piece of class ``code`` in the test split's true labels, in snapshot order."""
    test = TrainingSet.load(folder / "data" / "snapshot-reference.json").split("test")
    # an npz entry is read from disk again on every access: read each run's once
    predicted = {run: np.load(folder / "reference" / run / "predictions.npz")["y_pred"]
                 for run in runs}  # fmt: skip
    found, start = [], 0
    for patch in test:
        truth = read_label(patch.label)
        size = truth.size
        calls = {run: p[start : start + size].reshape(truth.shape)
                 for run, p in predicted.items()}  # fmt: skip
        start += size
        pieces, count = ndimage.label(truth == code)
        data = read_patch(patch.dir) if count else None
        for piece in range(1, count + 1):
            mask = pieces == piece
            if mask.sum() < min_pixels:
                continue
            green_up, senescence = mean_ndvi_season(data, mask)
            found.append(Parcel(
                patch.id, int(mask.sum()), green_up, senescence,
                right={run: float((c[mask] == code).mean()) for run, c in calls.items()},
                as_other={run: float((c[mask] == other).mean()) for run, c in calls.items()},
            ))  # fmt: skip
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a work folder kept by bench_experiment.py")
    parser.add_argument("runs", nargs="+", help="runs scored on the true labels")
    parser.add_argument("--code", type=int, default=12, help="the class (12: tubers / roots)")
    parser.add_argument("--other", type=int, default=9, help="the look-alike (9: sunflower)")
    parser.add_argument("--min-pixels", type=int, default=100)
    args = parser.parse_args()
    found = parcels(args.folder, args.runs, args.code, args.other, args.min_pixels)
    print("| patch | pixels | green-up | senescence | length | "
          + " | ".join(f"{run}: right (as {args.other})" for run in args.runs) + " |")  # fmt: skip
    print("|---" * (5 + len(args.runs)) + "|")
    for p in sorted(found, key=lambda p: p.length):
        shares = " | ".join(f"{p.right[r]:.2f} ({p.as_other[r]:.2f})" for r in args.runs)
        print(f"| {p.patch} | {p.pixels} | {p.green_up} | {p.senescence} | {p.length} | {shares} |")
    total = sum(p.pixels for p in found)
    for run in args.runs:
        right = sum(p.right[run] * p.pixels for p in found) / total
        print(f"{run}: {right:.1%} of {total:,} pixels right over {len(found)} parcels")


if __name__ == "__main__":
    main()
