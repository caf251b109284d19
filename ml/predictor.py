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
    """

    classes: list[int]
    window: int | None
    halo: int

    def predict_proba(
        self, series: np.ndarray, clouds: np.ndarray, dates: list[date], bands: list[str]
    ) -> np.ndarray:
        """Probabilities (K, H, W) float32 for series (T, C, H, W) int16 and clouds (T, H, W)."""
        ...
