"""Sentinel-2 colour composites of a scene, as COG backdrops for the map explorer.

True colour is B4-B3-B2 and false colour B8-B4-B3 (vegetation red). A composite is either
one date (clouds and nodata left as nodata) or the per-pixel median of the clear
observations over a period, the usual cloud-free "best pixel" backdrop. Values stay int16
reflectance x10000 (nodata -10000) rather than being scaled to uint8: the COG keeps
physical values for point reads and any stretch, and the tile server applies the
display stretch (`rescale`, e.g. 0..3000 for true colour) per request.
"""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path

import numpy as np
import rasterio

from ml.cog import BLOCK, to_cog, work_profile
from ml.predict import blocks
from ml.scene import NODATA, Scene

RECIPES: dict[str, tuple[str, str, str]] = {
    "true_colour": ("B4", "B3", "B2"),
    "false_colour": ("B8", "B4", "B3"),
}
RESCALE: dict[str, tuple[int, int]] = {"true_colour": (0, 3000), "false_colour": (0, 5000)}


def pick_dates(
    scene: Scene, *, on: date | None = None, period: tuple[date, date] | None = None
) -> list[int]:
    """Indices of the scene dates a composite uses; a clear error when there are none."""
    if (on is None) == (period is None):
        raise ValueError("give either one date or a period")
    if on is not None:
        if on not in scene.dates:
            raise ValueError(f"{on.isoformat()} is not a date of the scene")
        return [scene.dates.index(on)]
    first, last = period  # type: ignore[misc]
    chosen = [i for i, d in enumerate(scene.dates) if first <= d <= last]
    if not chosen:
        raise ValueError(f"no scene date between {first.isoformat()} and {last.isoformat()}")
    return chosen


def composite_block(series: np.ndarray, clouds: np.ndarray) -> np.ndarray:
    """(3, h, w) int16 median of the clear observations of (T, 3, h, w); nodata where none."""
    clear = (clouds == 0)[:, None] & (series != NODATA)
    values = np.where(clear, series.astype(np.float32), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-cloudy pixels: "All-NaN slice"
        median = np.nanmedian(values, axis=0)
    return np.where(np.isnan(median), NODATA, np.rint(median)).astype(np.int16)


def make_composite(
    scene: Scene,
    out: Path,
    *,
    recipe: str = "true_colour",
    on: date | None = None,
    period: tuple[date, date] | None = None,
    work_dir: Path | None = None,
) -> Path:
    """Write a 3-band int16 composite COG of `scene` to `out`, block by block.

    Raises:
        ValueError: unknown recipe, a band the scene lacks, or no date selected.
    """
    if recipe not in RECIPES:
        raise ValueError(f"unknown composite {recipe!r}; choose one of {sorted(RECIPES)}")
    missing = [b for b in RECIPES[recipe] if b not in scene.bands]
    if missing:
        raise ValueError(f"the scene lacks bands {missing} for {recipe}")
    chosen = pick_dates(scene, on=on, period=period)
    work = (work_dir or out.parent) / (out.stem + ".work.tif")
    work.parent.mkdir(parents=True, exist_ok=True)
    profile = work_profile(
        width=scene.width,
        height=scene.height,
        count=3,
        dtype="int16",
        crs=scene.crs,
        transform=scene.transform,
        nodata=NODATA,
    )
    with rasterio.open(work, "w", **profile) as dst:
        dst.descriptions = RECIPES[recipe]
        for window in blocks(scene, BLOCK):
            series, clouds = scene.read(window, bands=list(RECIPES[recipe]), dates=chosen)
            dst.write(composite_block(series, clouds), window=window)
    when = on.isoformat() if on else f"{period[0].isoformat()}/{period[1].isoformat()}"  # type: ignore[index]
    to_cog(work, out, categorical=False, tags={"COMPOSITE": recipe, "DATES": when})
    work.unlink()
    return out
