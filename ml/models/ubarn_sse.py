"""U-BARN's spectro-spatial encoder (SSE): a small U-Net applied to every date on its own.

Dumeur, Valero, Inglada, "Self-supervised spatio-temporal representation learning of
satellite image time series", IEEE JSTARS 17, 2024, Sec. III-A. The layout follows U-TAE
(Garnot & Landrieu, ICCV 2021): an in-conv, strided-conv down blocks with a residual
conv, and up blocks that concatenate a 1×1-projected skip after a transposed conv. The
paper uses GroupNorm in the encoder (statistics per sample, so the batch composition does
not leak into a date's features) and BatchNorm in the decoder, with reflect padding so that
patch borders are not darkened by zeros.

GroupNorm normalises each date's image over its own pixels: on a crop smaller than a field
or two, it also takes away the date's absolute reflectance, which is what tells crops sown
a few weeks apart from each other. ``encoder_norm="batch"`` (not the paper's) normalises
the encoder with batch statistics instead, as the decoder does, and keeps it.
"""

from __future__ import annotations

import torch
from torch import nn

GROUPS = 4
ENCODER_NORMS = ("group", "batch")


def _conv_norm_relu(
    d_in: int, d_out: int, norm: str, *, kernel: int = 3, stride: int = 1, padding: int = 1
) -> nn.Sequential:
    """conv (reflect padding) → norm → ReLU, the unit every SSE block is made of."""
    layer_norm: nn.Module = (
        nn.GroupNorm(GROUPS, d_out) if norm == "group" else nn.BatchNorm2d(d_out)
    )
    return nn.Sequential(
        nn.Conv2d(d_in, d_out, kernel, stride=stride, padding=padding, padding_mode="reflect"),
        layer_norm,
        nn.ReLU(inplace=True),
    )


class DownBlock(nn.Module):
    """Halve the resolution: strided conv k4 s2 p1, conv 3×3, then a residual conv 3×3."""

    def __init__(self, d_in: int, d_out: int, norm: str) -> None:
        super().__init__()
        self.down = _conv_norm_relu(d_in, d_in, norm, kernel=4, stride=2, padding=1)
        self.conv = _conv_norm_relu(d_in, d_out, norm)
        self.residual = _conv_norm_relu(d_out, d_out, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, d_in, H, W) → (N, d_out, H/2, W/2)."""
        out = self.conv(self.down(x))
        return out + self.residual(out)


class UpBlock(nn.Module):
    """Double the resolution and merge the encoder's skip connection (BatchNorm decoder)."""

    def __init__(self, d_in: int, d_out: int, d_skip: int) -> None:
        super().__init__()
        self.skip = nn.Sequential(
            nn.Conv2d(d_skip, d_skip, 1), nn.BatchNorm2d(d_skip), nn.ReLU(inplace=True)
        )
        self.up = nn.Sequential(
            nn.ConvTranspose2d(d_in, d_out, kernel_size=4, stride=2, padding=1),
            nn.BatchNorm2d(d_out),
            nn.ReLU(inplace=True),
        )
        self.conv = _conv_norm_relu(d_out + d_skip, d_out, "batch")
        self.residual = _conv_norm_relu(d_out, d_out, "batch")

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """(N, d_in, H, W) and skip (N, d_skip, 2H, 2W) → (N, d_out, 2H, 2W)."""
        out = torch.cat([self.up(x), self.skip(skip)], dim=1)
        out = self.conv(out)
        return out + self.residual(out)


class SpectroSpatialEncoder(nn.Module):
    """Per-date U-Net: (N, C, H, W) → (N, D, H, W) at full resolution.

    With encoder widths (64, 64, 64, 128) and decoder widths (32, 32, 64, 128) there are
    three down blocks, so H and W must be multiples of 2**3 = 8 (paper config).

    Args:
        in_channels: spectral bands C (10 for Sentinel-2).
        encoder_widths: channel width at each resolution level, finest first.
        decoder_widths: decoder width at each level; the last equals the encoder's.
        d_model: output width D.
        encoder_norm: "group" (the paper's GroupNorm) or "batch" (BatchNorm, as the decoder).
    """

    def __init__(
        self,
        in_channels: int,
        encoder_widths: tuple[int, ...],
        decoder_widths: tuple[int, ...],
        d_model: int,
        encoder_norm: str,
    ) -> None:
        super().__init__()
        if encoder_norm not in ENCODER_NORMS:
            raise ValueError(f"encoder_norm must be one of {ENCODER_NORMS}, got {encoder_norm!r}")
        if len(encoder_widths) != len(decoder_widths) or len(encoder_widths) < 2:
            raise ValueError("encoder and decoder widths need the same length, at least 2")
        if encoder_widths[-1] != decoder_widths[-1]:
            raise ValueError("the deepest encoder and decoder widths must be equal")
        self.in_conv = nn.Sequential(
            _conv_norm_relu(in_channels, encoder_widths[0], encoder_norm),
            _conv_norm_relu(encoder_widths[0], encoder_widths[0], encoder_norm),
        )
        self.down = nn.ModuleList(
            DownBlock(encoder_widths[i], encoder_widths[i + 1], encoder_norm)
            for i in range(len(encoder_widths) - 1)
        )
        self.up = nn.ModuleList(
            UpBlock(decoder_widths[i], decoder_widths[i - 1], encoder_widths[i - 1])
            for i in range(len(decoder_widths) - 1, 0, -1)
        )
        self.out_conv = nn.Conv2d(decoder_widths[0], d_model, 3, padding=1, padding_mode="reflect")

    @property
    def size_multiple(self) -> int:
        """H and W must be multiples of this (one halving per down block)."""
        return 2 ** len(self.down)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) → (N, D, H, W)."""
        skips = [self.in_conv(x)]
        for block in self.down:
            skips.append(block(skips[-1]))
        out = skips.pop()
        for block in self.up:
            out = block(out, skips.pop())
        return self.out_conv(out)
