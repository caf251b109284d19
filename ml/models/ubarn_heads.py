"""U-BARN's downstream segmentation: attention pooling over dates, then a linear classifier.

Dumeur, Valero, Inglada, IEEE JSTARS 17, 2024, Sec. IV: the per-date representations are
aggregated with an L-TAE-like "master query" (Garnot & Landrieu, ECCV-W 2020): per-date
queries are projected, averaged over the valid dates, passed through BatchNorm and a
linear layer into one query per head and pixel; keys are projected per date; the values
are the features split across heads; padded dates get no attention. The pooled D vector
of each pixel goes through a linear layer to the classes. The encoder may be frozen
(the paper's FR regime: kept in eval mode so its BatchNorm statistics stay those of
pre-training), fine-tuned (FT), or trained from scratch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ml.models.ubarn import UBarnConfig, UBarnEncoder


class MasterQueryPooling(nn.Module):
    """(N, T, D) per-date features of N pixels → (N, D), attending over non-padded dates."""

    def __init__(self, d_model: int, n_heads: int, d_k: int) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model {d_model} is not divisible by {n_heads} heads")
        self.n_heads, self.d_k = n_heads, d_k
        self.query = nn.Linear(d_model, n_heads * d_k)
        self.master = nn.Sequential(
            nn.BatchNorm1d(n_heads * d_k), nn.Linear(n_heads * d_k, n_heads * d_k)
        )
        self.key = nn.Linear(d_model, n_heads * d_k)

    def forward(self, z: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """Pool dates: z (N, T, D), pad (N, T) bool → (N, D)."""
        n, t, d = z.shape
        valid = (~pad).to(z.dtype).unsqueeze(-1)
        mean_query = (self.query(z) * valid).sum(1) / valid.sum(1).clamp(min=1)
        master = self.master(mean_query).view(n, self.n_heads, self.d_k)
        keys = self.key(z).view(n, t, self.n_heads, self.d_k)
        scores = torch.einsum("nhk,nthk->nht", master, keys) / math.sqrt(self.d_k)
        scores = scores.masked_fill(pad[:, None, :], float("-inf"))
        values = z.view(n, t, self.n_heads, d // self.n_heads)
        attention = scores.softmax(dim=-1).to(values.dtype)  # softmax runs in fp32 under AMP
        return torch.einsum("nht,nthv->nhv", attention, values).reshape(n, d)


class SegmentationModel(nn.Module):
    """U-BARN encoder + master-query pooling + linear classifier: series → class logits.

    Args:
        config: encoder and head sizes.
        n_classes: K, the number of (non-ignored) classes.
        frozen: freeze the encoder (FR regime): no gradients and always in eval mode.
    """

    def __init__(self, config: UBarnConfig, n_classes: int, *, frozen: bool = False) -> None:
        super().__init__()
        self.encoder = UBarnEncoder(config)
        self.pooling = MasterQueryPooling(config.d_model, config.head_heads, config.head_d_k)
        self.classifier = nn.Linear(config.d_model, n_classes)
        self.freeze_encoder(frozen)

    def freeze_encoder(self, frozen: bool) -> None:
        """Freeze (no gradients, eval mode) or unfreeze the encoder, e.g. after a warm-up."""
        self.frozen = frozen
        self.encoder.requires_grad_(not frozen)
        self.encoder.train(self.training and not frozen)

    def train(self, mode: bool = True) -> SegmentationModel:
        """Switch modes, keeping a frozen encoder in eval mode (its BatchNorm untouched)."""
        super().train(mode)
        if self.frozen:
            self.encoder.eval()
        return self

    def forward(
        self,
        x: torch.Tensor,
        days: torch.Tensor,
        pad: torch.Tensor,
        clear: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, T, C, H, W), days (B, T), pad (B, T), clear (B, T, H, W) → logits (B, K, H, W).

        ``clear`` is read only by a network that masks clouds (``UBarnConfig.mask_clouds``).
        """
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            z = self.encoder(x, days, pad, clear)
        b, t, d, h, w = z.shape
        pixels = z.permute(0, 3, 4, 1, 2).reshape(b * h * w, t, d)
        pixel_pad = self.encoder.key_padding(pad, clear, h, w)
        logits = self.classifier(self.pooling(pixels, pixel_pad))
        return logits.reshape(b, h, w, -1).permute(0, 3, 1, 2)

    @torch.no_grad()
    def predict_logits(
        self,
        x: torch.Tensor,
        days: torch.Tensor,
        pad: torch.Tensor,
        clear: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits for any H, W: pad to a size the encoder takes (reflect), run, crop back.

        Evaluation and map production see whole patches and edge blocks whose sides are
        not multiples of 8; mirroring the border is what the SSE's reflect padding does.
        ``clear`` is mirrored with the series.
        """
        h, w = x.shape[-2:]
        m = self.encoder.size_multiple
        extra_h, extra_w = max(-h % m, 2 * m - h), max(-w % m, 2 * m - w)
        if extra_h or extra_w:
            mode = "reflect" if extra_h < h and extra_w < w else "replicate"
            x = _pad_space(x, extra_h, extra_w, mode)
            if clear is not None:
                clear = _pad_space(clear[:, :, None].float(), extra_h, extra_w, mode)[:, :, 0] > 0
        return self(x, days, pad, clear)[..., :h, :w]


def _pad_space(x: torch.Tensor, extra_h: int, extra_w: int, mode: str) -> torch.Tensor:
    """(B, T, C, H, W) → (B, T, C, H + extra_h, W + extra_w), padded at the bottom and right."""
    b, t, c, h, w = x.shape
    flat = F.pad(x.reshape(b * t, c, h, w), (0, extra_w, 0, extra_h), mode=mode)
    return flat.reshape(b, t, c, h + extra_h, w + extra_w)
