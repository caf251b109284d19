"""U-BARN: a per-pixel, per-date representation of a satellite image time series.

Dumeur, Valero, Inglada, "Self-supervised spatio-temporal representation learning of
satellite image time series", IEEE JSTARS 17, 4350–4367, 2024. The encoder is

1. a spectro-spatial encoder (SSE, a small U-Net, ``ubarn_sse``) applied to each date:
   (B, T, C, H, W) → (B, T, D, H, W); padded dates are skipped and left at zero;
2. a sinusoidal encoding of the acquisition date (constant 1000, Vaswani et al. 2017)
   *added* to the SSE output and broadcast over H, W;
3. a temporal transformer applied to every pixel's sequence of dates, with the padded
   dates masked as keys: (B·H·W, T, D) → (B·H·W, T, D). With ``mask_clouds`` (not in the
   paper, off by default) each pixel's cloudy dates are masked as keys too, so that its
   representation is read from its clear observations only, the information the OSO
   forest's gap-filling gets from the same masks.

The output keeps one D vector per pixel and date, (B, T, D, H, W): no temporal
aggregation happens inside the encoder, so the same weights serve the pre-training
pretext (``ubarn_pretext``) and the segmentation head (``ubarn_heads``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from ml.models.ubarn_sse import SpectroSpatialEncoder

DATE_ENCODING_CONSTANT = 1000.0
MAX_SEQUENCES_PER_CALL = 65_535
"""The fused attention kernels refuse batches above this many sequences; split B·H·W."""


@dataclass(frozen=True)
class UBarnConfig:
    """Sizes of a U-BARN encoder and its segmentation head (defaults: the paper's).

    The paper's encoder (≈1.1 M parameters) uses SSE encoder widths (64, 64, 64, 128),
    decoder widths (32, 32, 64, 128), D = 64 and a 3-layer, 4-head transformer with
    feed-forward 128 and dropout 0.1. ``head_heads`` and ``head_d_k`` size the L-TAE-like
    attention pooling of the segmentation head.
    """

    in_channels: int = 10
    encoder_widths: tuple[int, ...] = (64, 64, 64, 128)
    decoder_widths: tuple[int, ...] = (32, 32, 64, 128)
    d_model: int = 64
    n_layers: int = 3
    n_heads: int = 4
    d_ff: int = 128
    dropout: float = 0.1
    head_heads: int = 4
    head_d_k: int = 8
    mask_clouds: bool = False
    """Mask each pixel's cloudy dates (``clear`` False) as attention keys, in the encoder's
    transformer and in the head's pooling; a pixel with no clear date keeps them all."""
    encoder_norm: str = "group"
    """The SSE encoder's normalisation: "group" (the paper's, per date image) or "batch"
    (keeps each date's absolute reflectance on small crops; ``ubarn_sse``)."""
    pixel_skip: bool = False
    """Add a 1×1 projection of each pixel's own bands to the SSE output (not in the paper):
    the U-Net mixes every feature with its neighbours', cloudy ones included, while the few
    days that tell look-alike crops apart are read from the pixel's own series."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UBarnConfig:
        """Inverse of ``to_dict``; unknown keys are an error, not silently dropped."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown U-BARN config keys: {sorted(unknown)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


MODEL_SIZES: dict[str, UBarnConfig] = {
    "tiny": UBarnConfig(
        encoder_widths=(16, 16, 32),
        decoder_widths=(16, 16, 32),
        d_model=32,
        n_layers=2,
        n_heads=2,
        d_ff=64,
        dropout=0.0,
        head_heads=4,
        head_d_k=8,
    ),
    "small": UBarnConfig(encoder_widths=(16, 16, 32), decoder_widths=(16, 16, 32)),
    "paper": UBarnConfig(),
}
""""tiny" trains in seconds on a CPU (tests); "small" is tiny's spatial encoder with the
paper's temporal transformer (D 64, 3 layers, 4 heads), the capacity a pixel's own dates
need to tell look-alike summer crops apart (``bench/bench_pixel_temporal.py``) at a CPU's
cost; "paper" is the published configuration."""


def date_encoding(days: torch.Tensor, d_model: int) -> torch.Tensor:
    """Sinusoidal code of acquisition dates, (B, T) days → (B, T, D) in [−1, 1].

    Channel 2i is sin(days / 1000^(2i/D)) and 2i+1 the matching cosine (Vaswani et al.
    2017 with the date in place of the token index, as U-BARN does).
    """
    half = torch.arange(0, d_model, 2, device=days.device, dtype=torch.float32)
    inv_freq = torch.exp(-math.log(DATE_ENCODING_CONSTANT) * half / d_model)
    angles = days.float().unsqueeze(-1) * inv_freq
    code = torch.zeros(*days.shape, d_model, device=days.device, dtype=torch.float32)
    code[..., 0::2] = torch.sin(angles)
    code[..., 1::2] = torch.cos(angles[..., : d_model // 2])
    return code


class UBarnEncoder(nn.Module):
    """SSE + date encoding + temporal transformer: (B, T, C, H, W) → (B, T, D, H, W).

    Args:
        config: the sizes; see ``UBarnConfig`` and ``MODEL_SIZES``.
    """

    def __init__(self, config: UBarnConfig) -> None:
        super().__init__()
        self.config = config
        self.sse = SpectroSpatialEncoder(
            config.in_channels,
            config.encoder_widths,
            config.decoder_widths,
            config.d_model,
            config.encoder_norm,
        )
        self.pixel = nn.Conv2d(config.in_channels, config.d_model, 1) if config.pixel_skip else None
        layer = nn.TransformerEncoderLayer(
            d_model=config.d_model,
            nhead=config.n_heads,
            dim_feedforward=config.d_ff,
            dropout=config.dropout,
            batch_first=True,
        )
        # nested tensors are a prototype API (warns); padded keys are masked either way
        self.transformer = nn.TransformerEncoder(
            layer, num_layers=config.n_layers, enable_nested_tensor=False
        )
        self.max_sequences = MAX_SEQUENCES_PER_CALL

    @property
    def size_multiple(self) -> int:
        """H and W must be multiples of this (8 for the paper config), and at least twice it.

        Twice, so that the deepest SSE level is at least 2×2, which reflect padding needs.
        """
        return self.sse.size_multiple

    def check_input(self, x: torch.Tensor, pad: torch.Tensor) -> None:
        """Refuse inputs the network cannot process, with a message that says why."""
        if x.ndim != 5:
            raise ValueError(f"expected x of shape (B, T, C, H, W), got {tuple(x.shape)}")
        b, t, c, h, w = x.shape
        if c != self.config.in_channels:
            raise ValueError(f"expected {self.config.in_channels} bands, got {c}")
        m = self.size_multiple
        if h % m or w % m or h < 2 * m or w < 2 * m:
            raise ValueError(f"H and W must be multiples of {m}, at least {2 * m}, got {h}×{w}")
        if pad.shape != (b, t):
            raise ValueError(f"pad must have shape (B, T) = {(b, t)}, got {tuple(pad.shape)}")
        if bool(pad.all(dim=1).any()):
            raise ValueError("every series needs at least one date that is not padding")

    def embed(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """SSE on the non-padded dates only: (B, T, C, H, W) → (B, T, D, H, W), zeros at padding.

        Skipping padded dates keeps them out of the decoder's BatchNorm statistics and
        saves their compute. With ``pixel_skip`` each pixel's own projected bands are added.
        """
        self.check_input(x, pad)
        b, t, _, h, w = x.shape
        valid = ~pad
        images = x[valid]
        features = self.sse(images)
        if self.pixel is not None:
            features = features + self.pixel(images)
        out = features.new_zeros(b, t, self.config.d_model, h, w)
        out[valid] = features
        return out

    def key_padding(
        self, pad: torch.Tensor, clear: torch.Tensor | None, h: int, w: int
    ) -> torch.Tensor:
        """(B·H·W, T) bool, True at the dates each pixel's attention skips: padding and, when
        the network masks clouds, the pixel's cloudy dates unless none of them is clear.

        Raises:
            ValueError: a network that masks clouds was given no clear mask, or a wrong one.
        """
        b, t = pad.shape
        keys = pad[:, None, None, :].expand(b, h, w, t)
        if self.config.mask_clouds:
            if clear is None or clear.shape != (b, t, h, w):
                got = None if clear is None else tuple(clear.shape)
                raise ValueError(
                    f"this network masks clouds: it needs clear (B, T, H, W) = {(b, t, h, w)}, "
                    f"got {got}"
                )
            cloudy = keys | ~clear.permute(0, 2, 3, 1)
            keys = torch.where(cloudy.all(-1, keepdim=True), keys, cloudy)
        return keys.reshape(b * h * w, t)

    def contextualise(
        self,
        embedding: torch.Tensor,
        days: torch.Tensor,
        pad: torch.Tensor,
        clear: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Add the date code, then attend over dates per pixel: (B, T, D, H, W) → same shape."""
        b, t, d, h, w = embedding.shape
        z = embedding + date_encoding(days, d).to(embedding.dtype)[..., None, None]
        sequences = z.permute(0, 3, 4, 1, 2).reshape(b * h * w, t, d)
        key_pad = self.key_padding(pad, clear, h, w)
        chunks = [
            self.transformer(
                sequences[i : i + self.max_sequences],
                src_key_padding_mask=key_pad[i : i + self.max_sequences],
            )
            for i in range(0, sequences.shape[0], self.max_sequences)
        ]
        out = torch.cat(chunks).reshape(b, h, w, t, d).permute(0, 3, 4, 1, 2)
        return out.masked_fill(pad[:, :, None, None, None], 0.0)

    def forward(
        self,
        x: torch.Tensor,
        days: torch.Tensor,
        pad: torch.Tensor,
        clear: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Encode a batch of series.

        Args:
            x: (B, T, C, H, W) normalised reflectances.
            days: (B, T) acquisition dates in days (e.g. day of year).
            pad: (B, T) bool, True where a date is padding.
            clear: (B, T, H, W) bool, True where a pixel-date is clear; read only by a
                network that masks clouds, which needs it.

        Returns:
            (B, T, D, H, W) representations, zero at padded dates.

        Raises:
            ValueError: when H or W is not a multiple of ``size_multiple``, or shapes disagree.
        """
        return self.contextualise(self.embed(x, pad), days, pad, clear)
