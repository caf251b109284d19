"""Sliding windows with overlap and the weights that blend them without seams.

A model with spatial context (U-BARN's convolutions and attention see neighbours) predicts
worse near a window's edge, where it sees padding instead of the scene. Map production
therefore runs overlapping windows on one global grid and averages their class
probabilities with weights that are zero within `halo` pixels of a window edge, rise
along a cosine ramp across the rest of the overlap, and are one in the middle — the usual
"smooth blending" of sliding-window semantic segmentation. Edges that lie on the scene
border keep weight one (no other window covers them). Because the grid is global, any
block of the output can be computed on its own and gives the same pixels as a single pass
over the whole scene: blocks are independent, so a map can be produced block by block,
resumed, or split across workers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tiling:
    """Window side, overlap between neighbours and the halo a model wants (pixels)."""

    window: int
    overlap: int
    halo: int = 0

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"window must be positive, got {self.window}")
        if not 0 <= self.overlap < self.window:
            raise ValueError(f"overlap {self.overlap} must be in [0, window {self.window})")
        if self.halo and self.overlap < 2 * self.halo + 1:
            raise ValueError(f"overlap {self.overlap} must exceed twice the halo {self.halo}")

    @property
    def stride(self) -> int:
        """Distance between the starts of two neighbouring windows."""
        return self.window - self.overlap

    @classmethod
    def for_model(
        cls, window: int | None, halo: int, block: int, overlap: int | None = None
    ) -> Tiling:
        """The tiling for a model: per-pixel models (window None) use one window per block."""
        side = window if window is not None else block
        if overlap is None:
            overlap = max(side // 4, 2 * halo + 2) if (window is not None or halo) else 0
        return cls(side, overlap, halo)


def starts(n: int, window: int, stride: int) -> list[int]:
    """Window starts along an axis of n pixels; the last window ends on the border."""
    if window >= n:
        return [0]
    out = list(range(0, n - window, stride))
    out.append(n - window)
    return out


def axis_weights(start: int, size: int, n: int, tiling: Tiling) -> np.ndarray:
    """Weights (size,) of one window along one axis of an n-pixel scene."""
    d = np.arange(size, dtype=np.float64)
    lead = _ramp(d, tiling) if start > 0 else np.ones(size)
    trail = _ramp(d[::-1], tiling) if start + size < n else np.ones(size)
    return np.minimum(lead, trail)


def _ramp(distance: np.ndarray, tiling: Tiling) -> np.ndarray:
    """0 inside the halo, a cosine rise over the rest of the overlap, then 1."""
    if tiling.overlap == 0:
        return np.ones_like(distance)
    span = tiling.overlap - 2 * tiling.halo
    x = np.clip((distance - tiling.halo + 0.5) / span, 0.0, 1.0)
    x[distance < tiling.halo] = 0.0
    return 0.5 - 0.5 * np.cos(np.pi * x)


def covering(lo: int, hi: int, n: int, size: int, stride: int) -> list[int]:
    """Starts of the windows that intersect [lo, hi) on an axis of n pixels."""
    return [s for s in starts(n, size, stride) if s < hi and s + size > lo]
