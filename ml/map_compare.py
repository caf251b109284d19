"""Comparing two land-cover maps: cross-tabulation, agreement raster, from->to pairs.

The agreement matrix counts pixels by (class on map A, class on map B) at full resolution;
from it come overall agreement and Pontius & Millones' (2011, Int. J. Remote Sensing 32,
4407-4429) split of total disagreement into *quantity* disagreement (the maps hold
different amounts of each class) and *allocation* disagreement (same amounts, different
places). Two rasters are written as COGs: agreement (1 agree, 2 disagree, 0 nodata) with
its palette, and a from->to pair map (uint16 code_a * 256 + code_b where the maps
disagree, 0 elsewhere) for inspecting which confusions happen where.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from ml.cog import hex_colormap, to_cog, work_profile
from ml.predict import CLASS_NODATA

AGREE, DISAGREE, NO_PAIR = 1, 2, 0
AGREEMENT_COLOURS = {AGREE: "#d9d9d9", DISAGREE: "#e41a1c"}


@dataclass
class Comparison:
    """The cross-tabulation of map A (rows) against map B (columns) and where it lives."""

    codes: list[int]
    matrix: np.ndarray
    agreement: Path
    pairs: Path
    pixel_ha: float
    summary: dict[str, Any] = field(default_factory=dict)


def pontius(matrix: np.ndarray) -> dict[str, float]:
    """Overall agreement, quantity and allocation disagreement of a count matrix.

    Quantity Q = 1/2 sum_k |p_k+ - p_+k|; total D = 1 - sum_k p_kk; allocation A = D - Q
    (Pontius & Millones 2011). All as fractions of the compared pixels.
    """
    total = matrix.sum()
    if total == 0:
        raise ValueError("the two maps share no valid pixel")
    p = matrix / total
    quantity = 0.5 * float(np.abs(p.sum(axis=1) - p.sum(axis=0)).sum())
    disagreement = 1.0 - float(np.trace(p))
    return {
        "agreement": 1.0 - disagreement,
        "disagreement": disagreement,
        "quantity": quantity,
        "allocation": disagreement - quantity,
    }


def compare_maps(
    a: Path, b: Path, *, out_dir: Path, ignore: tuple[int, ...] = (CLASS_NODATA,)
) -> Comparison:
    """Cross-tabulate two class COGs on the same grid and write the comparison rasters.

    Pixels whose code is in `ignore` on either map (nodata, void) are left out.

    Raises:
        ValueError: the maps are not on the same grid (size, transform, CRS).
    """
    with rasterio.open(a) as sa, rasterio.open(b) as sb:
        if (sa.shape, sa.transform, sa.crs) != (sb.shape, sb.transform, sb.crs):
            raise ValueError(
                "the two maps are not on the same grid; compare maps of the same scene"
            )
        pixel_ha = abs(sa.transform.a * sa.transform.e) / 10_000
        counts = np.zeros((256, 256), dtype=np.int64)
        out_dir.mkdir(parents=True, exist_ok=True)
        common = dict(width=sa.width, height=sa.height, count=1, crs=sa.crs, transform=sa.transform)
        work_agree, work_pairs = out_dir / "agreement.work.tif", out_dir / "pairs.work.tif"
        with (
            rasterio.open(
                work_agree, "w", **work_profile(dtype="uint8", nodata=NO_PAIR, **common)
            ) as agree,
            rasterio.open(
                work_pairs, "w", **work_profile(dtype="uint16", nodata=None, **common)
            ) as pairs,
        ):
            for _, window in sa.block_windows(1):
                ca, cb = sa.read(1, window=window), sb.read(1, window=window)
                valid = ~np.isin(ca, ignore) & ~np.isin(cb, ignore)
                np.add.at(counts, (ca[valid], cb[valid]), 1)
                same = ca == cb
                agree.write(
                    np.where(valid, np.where(same, AGREE, DISAGREE), NO_PAIR).astype(np.uint8),
                    1,
                    window=window,
                )
                code = ca.astype(np.uint16) * 256 + cb
                pairs.write(np.where(valid & ~same, code, 0).astype(np.uint16), 1, window=window)
    palette = hex_colormap(AGREEMENT_COLOURS, nodata=NO_PAIR)
    agreement = to_cog(work_agree, out_dir / "agreement.tif", categorical=True, colormap=palette)
    pair_map = to_cog(work_pairs, out_dir / "pairs.tif", categorical=True)
    work_agree.unlink()
    work_pairs.unlink()
    used = sorted(set(np.nonzero(counts.sum(axis=1))[0]) | set(np.nonzero(counts.sum(axis=0))[0]))
    matrix = counts[np.ix_(used, used)]
    summary = {
        **pontius(matrix),
        "codes": [int(c) for c in used],
        "matrix": matrix.tolist(),
        "areas_ha_a": {
            str(c): round(float(n) * pixel_ha, 4)
            for c, n in zip(used, matrix.sum(axis=1), strict=True)
        },
        "areas_ha_b": {
            str(c): round(float(n) * pixel_ha, 4)
            for c, n in zip(used, matrix.sum(axis=0), strict=True)
        },
    }
    return Comparison([int(c) for c in used], matrix, agreement, pair_map, pixel_ha, summary)
