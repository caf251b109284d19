"""The spectro-spatial encoder's normalisation: the paper's GroupNorm or BatchNorm."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ml.models.ubarn_sse import SpectroSpatialEncoder

TINY_WIDTHS = (16, 16, 32)


def _encoder(norm: str) -> SpectroSpatialEncoder:
    torch.manual_seed(0)
    encoder = SpectroSpatialEncoder(10, TINY_WIDTHS, TINY_WIDTHS, 32, norm)
    encoder(torch.randn(8, 10, 16, 16))  # one training batch of running statistics
    return encoder.eval()


@pytest.mark.parametrize(("norm", "local"), [("batch", True), ("group", False)])
def test_a_pixel_reads_its_own_neighbourhood_only_with_batch_statistics(
    norm: str, local: bool
) -> None:
    """GroupNorm normalises a date over the whole window: what lies 60 px away (outside the
    receptive field) changes a pixel's features, and a window's size changes the map."""
    encoder = _encoder(norm)
    x = torch.randn(1, 10, 96, 96)
    far = x.clone()
    far[..., 64:, 64:] += 3.0
    with torch.no_grad():
        near_corner = [encoder(v)[..., :8, :8] for v in (x, far)]
    assert torch.allclose(*near_corner, atol=1e-5) == local


def test_batch_norm_replaces_every_group_norm() -> None:
    kinds = {type(m) for m in _encoder("batch").modules()}
    assert nn.BatchNorm2d in kinds and nn.GroupNorm not in kinds
    assert nn.GroupNorm in {type(m) for m in _encoder("group").modules()}


def test_an_unknown_norm_is_refused() -> None:
    with pytest.raises(ValueError, match="encoder_norm must be one of"):
        SpectroSpatialEncoder(10, TINY_WIDTHS, TINY_WIDTHS, 32, "layer")
