"""Fixtures for the U-BARN model tests: seeded synthetic seasonal series, few threads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.data.normalise import BandStats
from ml.data.store import S2_BANDS


def seasonal_series(
    batch: int, dates: int, size: int, n_classes: int = 3, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Series whose pixels follow one of ``n_classes`` seasonal cycles, in 2×2-pixel blocks.

    Each class has its own phase and amplitude per band, so a pixel's missing date is
    predictable from its other dates and its class is readable from the cycle.

    Returns:
        x (B, T, 10, H, W), days (B, T), labels (B, H, W) int64.
    """
    g = torch.Generator().manual_seed(seed)
    days = torch.sort(torch.randint(0, 365, (batch, dates), generator=g), dim=1).values.float()
    labels = torch.randint(0, n_classes, (batch, size // 2, size // 2), generator=g)
    labels = labels.repeat_interleave(2, 1).repeat_interleave(2, 2)
    phase = torch.rand(n_classes, 10, generator=g) * 6.28
    amplitude = 0.5 + torch.rand(n_classes, 10, generator=g)
    season = 2 * torch.pi * days[:, :, None, None, None] / 365
    pixel_phase = phase[labels].permute(0, 3, 1, 2)[:, None]
    x = amplitude[labels].permute(0, 3, 1, 2)[:, None] * torch.sin(season + pixel_phase)
    x = x + 0.05 * torch.randn(x.shape, generator=g)
    return x.float(), days, labels


@pytest.fixture
def band_stats() -> BandStats:
    """Normalisation of the ten S2 bands with distinct ranges, for map predictors."""
    return BandStats(
        S2_BANDS,
        np.full(10, 1000, np.float32),
        np.full(10, 0, np.float32),
        np.arange(1, 11, dtype=np.float32) * 1000,
    )


@pytest.fixture
def make_seasonal():  # noqa: ANN201 - returns the generator function above
    """The ``seasonal_series`` generator, for tests to call with their own sizes."""
    return seasonal_series
