"""Blobby clouds and their shadows, per date, evaluated strip by strip.

A date's cloud field is a sum of three octaves of smooth noise (coarse grids of
Gaussian values, interpolated by a separable cubic kernel), the usual fractal recipe
for cloud-like masks. Because interpolation is separable, a strip of rows is
``Wy @ grid @ Wx.T``: two small matrix products, so the full scene never has to sit in
memory. The threshold of each date is the quantile that gives that date's cover;
covers are drawn so that many dates are clear, a few overcast, and their mean is
exactly the requested cloud fraction. Shadows are the cloud field displaced north-west
(the sun is in the south-east at Sentinel-2's 10:30 overpass), flagged where not cloud.

Operational masks are not exact: against reference masks they reach about 90 % overall
accuracy (Baetens, Desjardins, Hagolle, Remote Sens. 11(4):433, 2019), and what they miss
is thin clouds, haze and shadows. ``MaskOmissions`` draws those: a second, thin cloud layer
that is never flagged, and dates whose shadows go unflagged. Cloud omissions are the
errors that matter downstream, since gap-filling takes a missed cloud for the ground.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ml.data.store import CLEAR, CLOUD, SHADOW
from ml.data.synthetic.checks import check_within

OCTAVES = ((128.0, 1.0), (32.0, 0.45), (8.0, 0.2))  # (cell size in px, amplitude)


def date_covers(rng: np.random.Generator, n_dates: int, cloud_fraction: float) -> np.ndarray:
    """Per-date cloud cover in [0, 0.98], U-shaped (Beta), rescaled to mean ``cloud_fraction``."""
    check_within("cloud_fraction", cloud_fraction, 0.0, 0.9)
    if cloud_fraction == 0.0:
        return np.zeros(n_dates)
    covers = rng.beta(0.6, 0.6 * (1 - cloud_fraction) / cloud_fraction, n_dates)
    for _ in range(20):
        covers = np.clip(covers * cloud_fraction / max(covers.mean(), 1e-9), 0.0, 0.98)
    return covers


def _cubic_weights(coords: np.ndarray, cell: float, size: int) -> np.ndarray:
    """Dense (len(coords), size) Catmull-Rom interpolation matrix onto a grid of ``cell`` px."""
    u = coords / cell + 1.0
    base = np.floor(u).astype(int)
    frac = u - base
    w = np.zeros((len(coords), size), np.float32)
    kernel = (
        ((-frac + 2) * frac - 1) * frac / 2,
        ((3 * frac - 5) * frac * frac + 2) / 2,
        ((-3 * frac + 4) * frac + 1) * frac / 2,
        (frac - 1) * frac * frac / 2,
    )
    rows = np.arange(len(coords))
    for k, weight in enumerate(kernel):  # within one k, each row has one column: += is exact
        w[rows, np.clip(base - 1 + k, 0, size - 1)] += weight
    return w


@dataclass
class CloudField:
    """The cloud fields of every date of a ``side`` x ``side`` scene."""

    side: int
    grids: list[list[np.ndarray]]  # per date, per octave
    thresholds: np.ndarray  # (T,) field value above which a pixel is cloud
    spreads: np.ndarray  # (T,) field std, to turn excess into opacity
    shadow_shift: np.ndarray  # (T, 2) int rows, cols from a shadow pixel to its cloud
    covers: np.ndarray
    _weights: dict[tuple[str, int, int], list[np.ndarray]] = field(default_factory=dict, repr=False)

    @classmethod
    def draw(cls, rng: np.random.Generator, side: int, covers: np.ndarray) -> CloudField:
        n = [int((side + 32) / cell) + 5 for cell, _ in OCTAVES]
        grids = [
            [
                rng.standard_normal((k, k)).astype(np.float32) * amp
                for k, (_, amp) in zip(n, OCTAVES, strict=True)
            ]
            for _ in covers
        ]
        k = np.round(rng.uniform(6, 18, len(covers))).astype(int)
        shift = np.column_stack([k, k // 3])
        cf = cls(side, grids, np.zeros(len(covers)), np.ones(len(covers)), shift, covers)
        step = max(1, side // 256)
        for t, cover in enumerate(covers):
            values = cf._field(t, 0, side, step).ravel()
            cf.spreads[t] = values.std() + 1e-6
            cf.thresholds[t] = np.quantile(values, 1 - cover) if cover > 0 else np.inf
        return cf

    def _axis(self, kind: str, start: int, stop: int, step: int = 1) -> list[np.ndarray]:
        """Interpolation matrices of pixel centres start..stop, one per octave (cached)."""
        key = (kind, start, stop)
        if key not in self._weights:
            if len(self._weights) > 8:
                self._weights.clear()
            coords = np.arange(start, stop, step, dtype=np.float64) + 0.5
            self._weights[key] = [
                _cubic_weights(coords, cell, grid.shape[0])
                for (cell, _), grid in zip(OCTAVES, self.grids[0], strict=True)
            ]
        return self._weights[key]

    def _field(
        self, t: int, y0: int, y1: int, step: int = 1, extra_rows: int = 0, extra_cols: int = 0
    ) -> np.ndarray:
        rows = self._axis(f"rows{step}", y0, y1 + extra_rows, step)
        cols = self._axis(f"cols{step}", 0, self.side + extra_cols, step)
        out = None
        for wy, grid, wx in zip(rows, self.grids[t], cols, strict=True):
            part = wy @ grid @ wx.T
            out = part if out is None else out + part
        return out

    def strip(self, t: int, y0: int, y1: int) -> tuple[np.ndarray, np.ndarray]:
        """Mask (h, side) uint8 (0 clear, 1 cloud, 2 shadow) and cloud opacity (h, side) float32."""
        h = y1 - y0
        mask = np.full((h, self.side), CLEAR, np.uint8)
        if not np.isfinite(self.thresholds[t]):
            return mask, np.zeros(mask.shape, np.float32)
        extra_y, extra_x = self.shadow_shift.max(axis=0)
        excess = self._field(t, y0, y1, 1, int(extra_y), int(extra_x)) - self.thresholds[t]
        dy, dx = self.shadow_shift[t]
        cloud = excess[:h, : self.side] > 0
        shadow = (excess[dy : dy + h, dx : dx + self.side] > 0) & ~cloud
        mask[shadow] = SHADOW
        mask[cloud] = CLOUD
        opacity = np.clip(0.55 + excess[:h, : self.side] / (2 * self.spreads[t]), 0.55, 1.0)
        return mask, np.where(cloud, opacity, 0.0).astype(np.float32)


THIN_CLOUD_OPACITY = 0.4  # of a thick cloud's opacity: thin clouds blend 22-40 % of cloud
MAX_MISSED_CLOUDS = 0.5  # operational masks miss far less: beyond half, a mask tells nothing


@dataclass
class MaskOmissions:
    """What the cloud mask misses: thin clouds on any date, and some dates' shadows.

    ``rate`` is the share of contamination the mask lets through: the thin layer covers
    ``rate`` times the scene's cloud fraction (pixel-dates), and each date's shadows go
    unflagged with probability ``rate``.
    """

    thin: CloudField
    shadow_missed: np.ndarray  # (T,) bool

    @classmethod
    def draw(
        cls, rng: np.random.Generator, side: int, n_dates: int, cloud_fraction: float, rate: float
    ) -> MaskOmissions:
        check_within("missed_clouds", rate, 0.0, MAX_MISSED_CLOUDS)
        covers = date_covers(rng, n_dates, min(0.9, rate * cloud_fraction))
        return cls(CloudField.draw(rng, side, covers), rng.random(n_dates) < rate)

    def thin_opacity(self, t: int, y0: int, y1: int) -> np.ndarray:
        """Opacity (h, side) of date ``t``'s thin clouds over rows y0..y1 (0 where none)."""
        return self.thin.strip(t, y0, y1)[1] * THIN_CLOUD_OPACITY
