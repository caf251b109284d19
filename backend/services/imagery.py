"""Rendering a patch for photo-interpretation: colour composites, NDVI, cloud and label PNGs.

A photo-interpreter judges a land-cover label from three looks at the same date: true
colour (B4-B3-B2), false colour (B8-B4-B3, vegetation in red) and NDVI. Each composite is
stretched between the 2nd and 98th percentiles of the patch's clear pixels over *all*
dates, so that one date can be compared with another (a per-date stretch would make a
hazy date look as bright as a clear one). Patches are small (tens to a few hundred pixels
a side), so PNGs are sent at native resolution and the browser enlarges them pixelated.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from ml.data import store

VIEWS: dict[str, tuple[str, ...]] = {
    "true": ("B4", "B3", "B2"),
    "false": ("B8", "B4", "B3"),
    "ndvi": ("B8", "B4"),
}
STRETCH = (2.0, 98.0)
NDVI_RANGE = (-0.2, 0.9)
# A brown -> yellow -> green ramp: bare soil, sparse and dense vegetation.
NDVI_STOPS = np.array(
    [
        [0.0, 140, 81, 10],
        [0.35, 223, 194, 125],
        [0.55, 246, 232, 195],
        [0.7, 128, 205, 93],
        [1.0, 1, 102, 48],
    ],
    dtype=np.float64,
)
CLOUD_COLOURS = {
    store.CLOUD: (255, 255, 255, 170),
    store.SHADOW: (60, 20, 110, 150),
    store.MASK_NODATA: (128, 128, 128, 200),
}


class RenderError(ValueError):
    """A render request that does not fit the patch (unknown view, band missing, bad index)."""


@dataclass(frozen=True)
class Stretch:
    """Per-channel (low, high) reflectance bounds of a composite."""

    low: np.ndarray
    high: np.ndarray


def load_patch(folder: Path) -> store.PatchData:
    """The patch's arrays as read-only memory maps (no decoding, no copy)."""
    return store.read_patch(folder, mmap=True)


def encode_png(array: np.ndarray) -> bytes:
    """PNG bytes of an (H, W) grey or (H, W, 3|4) uint8 array."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def encode_webp(array: np.ndarray, quality: int = 80) -> bytes:
    """Lossy WebP bytes of an RGB image: thumbnails need no exact pixels, and are 5x smaller."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="WEBP", quality=quality)
    return buffer.getvalue()


def band_indices(bands: list[str], view: str) -> list[int]:
    """Positions of the view's bands in the patch; RenderError when one is missing."""
    if view not in VIEWS:
        raise RenderError(f"Unknown view {view!r}; use one of {', '.join(VIEWS)}.")
    missing = [b for b in VIEWS[view] if b not in bands]
    if missing:
        raise RenderError(f"The {view} view needs band(s) {', '.join(missing)}, not in this patch.")
    return [bands.index(b) for b in VIEWS[view]]


def ndvi(nir: np.ndarray, red: np.ndarray) -> np.ndarray:
    """NDVI = (NIR - red) / (NIR + red) (Rouse et al. 1974); NaN where undefined or nodata."""
    nir = nir.astype(np.float32)
    red = red.astype(np.float32)
    total = nir + red
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (nir - red) / total
    value[(total == 0) | (nir == store.NODATA) | (red == store.NODATA)] = np.nan
    return value


@lru_cache(maxsize=256)
def _stretch(folder: str, view: str) -> Stretch:
    data = load_patch(Path(folder))
    idx = band_indices(data.bands, view)
    # Every other date and pixel is plenty for two percentiles and bounds the cost.
    series = np.asarray(data.series[::2, idx, ::2, ::2], dtype=np.float32)
    clear = np.asarray(data.clouds[::2, ::2, ::2]) == store.CLEAR
    low, high = [], []
    for c in range(series.shape[1]):
        values = series[:, c][clear & (series[:, c] != store.NODATA)]
        if values.size == 0:
            values = np.array([0.0, 3000.0])
        lo, hi = np.percentile(values, STRETCH)
        low.append(lo)
        high.append(hi if hi > lo else lo + 1.0)
    return Stretch(np.array(low, dtype=np.float32), np.array(high, dtype=np.float32))


def render_view(folder: Path, date_index: int, view: str) -> np.ndarray:
    """The (H, W, 3) uint8 image of one date in one view, nodata shown black."""
    data = load_patch(folder)
    if not 0 <= date_index < len(data.dates):
        raise RenderError(f"Date index {date_index} is outside 0..{len(data.dates) - 1}.")
    idx = band_indices(data.bands, view)
    bands = np.asarray(data.series[date_index, idx], dtype=np.float32)
    nodata = (bands == store.NODATA).any(axis=0)
    if view == "ndvi":
        rgb = ndvi_colours(ndvi(bands[0], bands[1]))
    else:
        s = _stretch(str(folder), view)
        scaled = (bands - s.low[:, None, None]) / (s.high - s.low)[:, None, None]
        rgb = (np.clip(scaled, 0.0, 1.0) * 255).round().astype(np.uint8).transpose(1, 2, 0)
    rgb[nodata] = 0
    return np.ascontiguousarray(rgb)


def ndvi_colours(values: np.ndarray) -> np.ndarray:
    """Map NDVI to the brown-yellow-green ramp; NaN becomes black."""
    lo, hi = NDVI_RANGE
    t = np.clip((np.nan_to_num(values, nan=lo) - lo) / (hi - lo), 0.0, 1.0)
    rgb = np.stack([np.interp(t, NDVI_STOPS[:, 0], NDVI_STOPS[:, k]) for k in (1, 2, 3)], axis=-1)
    rgb = rgb.round().astype(np.uint8)
    rgb[np.isnan(values)] = 0
    return rgb


def thumbnail_strip(folder: Path, view: str, size: int) -> np.ndarray:
    """Every date's image side by side, each resized to `size` px (one request for the strip)."""
    data = load_patch(folder)
    tiles = []
    for t in range(len(data.dates)):
        image = Image.fromarray(render_view(folder, t, view))
        tiles.append(np.asarray(image.resize((size, size), Image.Resampling.BOX)))
    return np.concatenate(tiles, axis=1)


def cloud_overlay(folder: Path, date_index: int) -> np.ndarray:
    """An (H, W, 4) RGBA overlay: clouds white, shadows purple, nodata grey, clear transparent."""
    data = load_patch(folder)
    if not 0 <= date_index < len(data.dates):
        raise RenderError(f"Date index {date_index} is outside 0..{len(data.dates) - 1}.")
    mask = np.asarray(data.clouds[date_index])
    rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
    for value, colour in CLOUD_COLOURS.items():
        rgba[mask == value] = colour
    return rgba


def cloud_fractions(folder: Path) -> list[float]:
    """Share of non-clear pixels per date (the page opens on the clearest date)."""
    return list(_cloud_fractions(str(folder)))


@lru_cache(maxsize=1024)
def _cloud_fractions(folder: str) -> tuple[float, ...]:
    # Cloud masks never change after ingest, so a patch is read once per process.
    clouds = np.asarray(load_patch(Path(folder)).clouds)
    return tuple(round(float(f), 4) for f in (clouds != store.CLEAR).mean(axis=(1, 2)))


def label_overlay(labels: np.ndarray, colormap: dict[int, tuple[int, int, int, int]]) -> np.ndarray:
    """An (H, W, 4) RGBA image of a label mask in the nomenclature's colours."""
    table = np.zeros((256, 4), dtype=np.uint8)
    for code, colour in colormap.items():
        table[code] = colour
    return table[labels]


def pixel_series(folder: Path, row: int, col: int) -> dict:
    """A pixel's time series: NDVI, every band (reflectance x 10000, None = nodata), cloud flag."""
    data = load_patch(folder)
    if not (0 <= row < data.height and 0 <= col < data.width):
        raise RenderError(f"Pixel ({row}, {col}) is outside the {data.height}x{data.width} patch.")
    values = np.asarray(data.series[:, :, row, col])
    flags = np.asarray(data.clouds[:, row, col])
    bands = {
        name: [None if v == store.NODATA else int(v) for v in values[:, b]]
        for b, name in enumerate(data.bands)
    }
    series: dict = {"dates": [d.isoformat() for d in data.dates], "bands": bands}
    series["cloud"] = [int(f) for f in flags]
    if "B8" in data.bands and "B4" in data.bands:
        nd = ndvi(values[:, data.bands.index("B8")], values[:, data.bands.index("B4")])
        series["ndvi"] = [None if np.isnan(v) else round(float(v), 4) for v in nd]
    return series
