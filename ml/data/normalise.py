"""Per-band normalisation of reflectances, as U-BARN does it.

Dumeur, Valero, Inglada, IEEE JSTARS 17, 2024, Sec. V-A: each band is clipped to its
[q05, q95] range and centred and scaled as (x − median) / (q95 − q05), with statistics
from the training data only (never the validation or test patches). Quantiles rather than
mean and standard deviation, so that saturated pixels, haze and the nodata value do not
stretch the scale. The statistics are saved with the run so that inference normalises
exactly as training did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ml.data.store import NODATA, read_patch


@dataclass(frozen=True)
class BandStats:
    """Median, 5th and 95th percentile of each band, in the order of ``bands``."""

    bands: tuple[str, ...]
    median: np.ndarray
    q05: np.ndarray
    q95: np.ndarray

    @classmethod
    def from_samples(cls, samples: np.ndarray, bands: Iterable[str]) -> BandStats:
        """Statistics of valid reflectance samples (N, C)."""
        bands = tuple(bands)
        if samples.ndim != 2 or samples.shape[1] != len(bands):
            raise ValueError(f"expected samples (N, {len(bands)}), got {samples.shape}")
        if samples.shape[0] == 0:
            raise ValueError("no valid (clear, not nodata) pixel-date to compute statistics on")
        q05, median, q95 = np.quantile(samples.astype(np.float64), [0.05, 0.5, 0.95], axis=0)
        return cls(bands, median.astype(np.float32), q05.astype(np.float32), q95.astype(np.float32))

    def apply(self, series: np.ndarray) -> np.ndarray:
        """Normalise reflectances (..., C, H, W) int16 → float32 (band axis third from last)."""
        if series.shape[-3] != len(self.bands):
            raise ValueError(f"expected {len(self.bands)} bands, got {series.shape[-3]}")
        shape = (len(self.bands), 1, 1)
        low, high = self.q05.reshape(shape), self.q95.reshape(shape)
        scale = np.where(high > low, high - low, 1.0).astype(np.float32)
        clipped = np.clip(series.astype(np.float32), low, high)
        return (clipped - self.median.reshape(shape)) / scale

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, saved in the run's run.json."""
        return {
            "bands": list(self.bands),
            "median": self.median.tolist(),
            "q05": self.q05.tolist(),
            "q95": self.q95.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BandStats:
        """Inverse of ``to_dict``."""
        arrays = {k: np.asarray(data[k], dtype=np.float32) for k in ("median", "q05", "q95")}
        return cls(tuple(data["bands"]), **arrays)


def clear_mask(series: np.ndarray, clouds: np.ndarray) -> np.ndarray:
    """True where a pixel-date is clear and has every band: (…, T, C, H, W) → (…, T, H, W).

    What the pre-training loss scores, the band statistics sample and, for a network that
    masks clouds (``UBarnConfig.mask_clouds``), what its attention reads.
    """
    return (np.asarray(clouds) == 0) & (np.asarray(series) != NODATA).all(axis=-3)


def valid_samples(
    series: np.ndarray, clouds: np.ndarray, max_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """Up to ``max_samples`` random clear, non-nodata pixel-dates of one patch → (N, C).

    Args:
        series: (T, C, H, W) int16 reflectances.
        clouds: (T, H, W) uint8 cloud mask, 0 = clear.
        max_samples: cap per patch, so that large stores do not exhaust memory.
        rng: the source of the random choice (seeded by the caller).
    """
    valid = clear_mask(series, clouds)
    index = np.flatnonzero(valid)
    if index.size > max_samples:
        index = np.sort(rng.choice(index, size=max_samples, replace=False))
    t, h, w = np.unravel_index(index, valid.shape)
    return np.asarray(series[t, :, h, w])


def compute_band_stats(
    patch_dirs: Iterable[Path], bands: Iterable[str], *, max_samples: int = 20_000, seed: int = 0
) -> BandStats:
    """Band statistics over the given (training) patches, sampling valid pixel-dates.

    Raises:
        ValueError: when no patch has a single valid pixel-date.
    """
    rng = np.random.default_rng(seed)
    bands = tuple(bands)
    parts = []
    for folder in patch_dirs:
        patch = read_patch(folder)
        if tuple(patch.bands) != bands:
            raise ValueError(f"patch {folder.name} has bands {patch.bands}, expected {bands}")
        parts.append(valid_samples(patch.series, patch.clouds, max_samples, rng))
    samples = np.concatenate(parts) if parts else np.empty((0, len(bands)), np.int16)
    return BandStats.from_samples(samples, bands)
