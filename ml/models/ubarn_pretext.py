"""U-BARN's self-supervised pretext task: reconstruct corrupted pixel-dates.

Dumeur, Valero, Inglada, IEEE JSTARS 17, 2024, Sec. III-B. In the manner of BERT, a
fraction of the valid (non-padded) pixel-date positions of the SSE output is replaced,
before the date encoding, by embeddings drawn from elsewhere in the batch (a permutation),
so the temporal transformer must infer them from the pixel's other dates. A linear head
D → C reconstructs the normalised reflectances; the loss is the mean squared error over
the positions that were corrupted AND are clear (cloud mask 0) AND are not padding:
cloudy values are kept in the input but never taught as targets.
"""

from __future__ import annotations

import torch
from torch import nn

from ml.models.ubarn import UBarnConfig, UBarnEncoder


def corrupt(
    embedding: torch.Tensor, pad: torch.Tensor, rate: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace a fraction of the non-padded positions by embeddings from other positions.

    Draws from torch's global random generator, so a seeded run (and a run resumed with
    the saved generator state) corrupts the same positions.

    Args:
        embedding: (B, T, D, H, W) SSE output.
        pad: (B, T) bool, True at padded dates.
        rate: probability that a valid position is corrupted, in [0, 1].

    Returns:
        The corrupted embedding (B, T, D, H, W) and the corruption mask (B, T, H, W) bool.
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"corruption rate must be in [0, 1], got {rate}")
    b, t, d, h, w = embedding.shape
    candidates = (~pad)[:, :, None, None].expand(b, t, h, w)
    mask = (torch.rand(b, t, h, w, device=embedding.device) < rate) & candidates
    flat = embedding.permute(0, 1, 3, 4, 2).reshape(-1, d)
    valid_index = candidates.reshape(-1).nonzero().squeeze(1)
    valid = flat[valid_index]
    shuffled = valid[torch.randperm(valid.shape[0], device=embedding.device)]
    replaced = torch.where(mask.reshape(-1)[valid_index, None], shuffled, valid)
    out = flat.index_copy(0, valid_index, replaced)
    return out.reshape(b, t, h, w, d).permute(0, 1, 4, 2, 3), mask


def masked_reconstruction_loss(
    prediction: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    clear: torch.Tensor,
    pad: torch.Tensor,
) -> torch.Tensor:
    """MSE over corrupted ∧ clear ∧ non-padded pixel-dates (zero, with a graph, when none).

    Args:
        prediction: (B, T, C, H, W) reconstructed normalised reflectances.
        target: (B, T, C, H, W) input normalised reflectances.
        mask: (B, T, H, W) bool, corrupted positions.
        clear: (B, T, H, W) bool, True where the cloud mask says clear.
        pad: (B, T) bool, True at padded dates.
    """
    selected = mask & clear & ~pad[:, :, None, None]
    error = (prediction.float() - target.float()).pow(2).mean(dim=2)
    error = torch.where(selected, error, torch.zeros_like(error))
    return error.sum() / selected.sum().clamp(min=1)


class PretrainModel(nn.Module):
    """Encoder + linear reconstruction head D → C, as pre-trained in the paper."""

    def __init__(self, config: UBarnConfig) -> None:
        super().__init__()
        self.encoder = UBarnEncoder(config)
        self.reconstruction = nn.Linear(config.d_model, config.in_channels)

    def forward(
        self,
        x: torch.Tensor,
        days: torch.Tensor,
        pad: torch.Tensor,
        rate: float,
        clear: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, C, H, W) → reconstruction (B, T, C, H, W) and corruption mask (B, T, H, W).

        ``clear`` (B, T, H, W) is read only by an encoder that masks clouds.
        """
        embedding, mask = corrupt(self.encoder.embed(x, pad), pad, rate)
        z = self.encoder.contextualise(embedding, days, pad, clear)
        return self.reconstruction(z.movedim(2, -1)).movedim(-1, 2), mask
