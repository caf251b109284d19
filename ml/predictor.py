"""The interface map production uses for any trained model (U-BARN or Random Forest)."""

from __future__ import annotations

from datetime import date
from typing import Protocol

import numpy as np


class Predictor(Protocol):
    """A trained model that turns a block of a time series into class probabilities.

    `classes` lists the nomenclature codes in the order of the probability axis.
    `window` is the block side the model prefers (U-BARN: its training crop, at least
    `ml.models.ubarn_predictor.MAP_WINDOW`; the per-pixel RF: any size, it returns None)
    and `halo` how many pixels of context each side it wants for seamless blending.
    `batch` is how many windows of one size map production hands `predict_windows` at
    once: a GPU runs a small window far below its capacity, so U-BARN takes several there.
    """

    classes: list[int]
    window: int | None
    halo: int
    batch: int

    def predict_proba(
        self, series: np.ndarray, clouds: np.ndarray, dates: list[date], bands: list[str]
    ) -> np.ndarray:
        """Probabilities (K, H, W) float32 for series (T, C, H, W) int16 and clouds (T, H, W)."""
        ...

    def predict_windows(
        self, series: np.ndarray, clouds: np.ndarray, dates: list[date], bands: list[str]
    ) -> np.ndarray:
        """Probabilities (N, K, H, W) float32 for N windows: series (N, T, C, H, W) int16 and
        clouds (N, T, H, W), all of the same dates."""
        ...


class OneWindowAtATime:
    """`batch` and `predict_windows` for predictors with nothing to gain from batching
    (the per-pixel forest, whose map window is the whole block): a loop over the
    subclass's `predict_proba`."""

    batch = 1

    def predict_windows(
        self: Predictor,
        series: np.ndarray,
        clouds: np.ndarray,
        dates: list[date],
        bands: list[str],
    ) -> np.ndarray:
        """Probabilities (N, K, H, W), one `predict_proba` call per window."""
        return np.stack(
            [self.predict_proba(s, c, dates, bands) for s, c in zip(series, clouds, strict=True)]
        )
