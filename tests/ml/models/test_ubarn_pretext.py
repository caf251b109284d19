"""U-BARN pre-training: corruption, the masked loss, and learning on seasonal series."""

from __future__ import annotations

import pytest
import torch

from ml.models.ubarn import MODEL_SIZES
from ml.models.ubarn_pretext import PretrainModel, corrupt, masked_reconstruction_loss


def test_corruption_rate_follows_the_setting_and_spares_padding() -> None:
    torch.manual_seed(0)
    embedding = torch.randn(4, 10, 8, 16, 16)
    pad = torch.zeros(4, 10, dtype=torch.bool)
    pad[1, 6:] = True
    pad[3, 2:] = True
    out, mask = corrupt(embedding, pad, 0.6)
    valid = (~pad)[:, :, None, None].expand_as(mask)
    assert mask[valid].float().mean() == pytest.approx(0.6, abs=0.02)
    assert not mask[~valid].any()
    keep = ~mask[:, :, None].expand_as(embedding)
    assert torch.equal(out[keep], embedding[keep])  # unmasked positions untouched
    changed = (out != embedding).any(dim=2)
    assert changed[mask].float().mean() > 0.99  # masked ones replaced by other positions


def test_corruption_draws_replacements_from_valid_positions_of_the_batch() -> None:
    torch.manual_seed(1)
    embedding = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 1, 4, 4)
    pad = torch.tensor([[False, False, True], [False, True, True]])
    out, mask = corrupt(embedding, pad, 1.0)
    allowed = set(embedding[~pad].flatten().tolist())
    assert set(out[~pad].flatten().tolist()) <= allowed
    assert torch.equal(out[pad], embedding[pad])


def test_bad_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="rate"):
        corrupt(torch.zeros(1, 2, 4, 8, 8), torch.zeros(1, 2, dtype=torch.bool), 1.5)


def _loss_inputs():
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(2, 4, 10, 8, 8, generator=g)
    target = torch.randn(2, 4, 10, 8, 8, generator=g)
    mask = torch.rand(2, 4, 8, 8, generator=g) < 0.5
    clear = torch.rand(2, 4, 8, 8, generator=g) < 0.7
    pad = torch.tensor([[False] * 4, [False, False, False, True]])
    return pred, target, mask, clear, pad


def test_loss_ignores_unmasked_cloudy_and_padded_values() -> None:
    pred, target, mask, clear, pad = _loss_inputs()
    loss = masked_reconstruction_loss(pred, target, mask, clear, pad)
    counted = mask & clear & ~pad[:, :, None, None]
    for ignored in (~mask, mask & ~clear, pad[:, :, None, None].expand_as(mask)):
        changed = target.clone()
        changed.permute(0, 1, 3, 4, 2)[ignored] = 1e6
        assert masked_reconstruction_loss(pred, changed, mask, clear, pad) == loss
    changed = target.clone()
    changed.permute(0, 1, 3, 4, 2)[counted] += 1.0
    assert masked_reconstruction_loss(pred, changed, mask, clear, pad) != loss


def test_loss_is_the_mean_squared_error_of_the_counted_positions() -> None:
    pred, target, mask, clear, pad = _loss_inputs()
    counted = (mask & clear & ~pad[:, :, None, None])[:, :, None].expand_as(pred)
    expected = ((pred - target) ** 2)[counted].mean()
    loss = masked_reconstruction_loss(pred, target, mask, clear, pad)
    torch.testing.assert_close(loss, expected)


def test_loss_is_zero_with_a_gradient_when_nothing_is_counted() -> None:
    pred, target, mask, clear, pad = _loss_inputs()
    pred.requires_grad_(True)
    loss = masked_reconstruction_loss(pred, target, torch.zeros_like(mask), clear, pad)
    loss.backward()
    assert loss.item() == 0.0 and pred.grad is not None


@pytest.mark.slow
def test_reconstruction_loss_falls_by_more_than_half_on_seasonal_series(make_seasonal) -> None:
    torch.manual_seed(0)
    model = PretrainModel(MODEL_SIZES["tiny"])
    optimiser = torch.optim.Adam(model.parameters(), lr=5e-3)
    x, days, _ = make_seasonal(8, 10, 16, n_classes=2, seed=0)
    clear = torch.rand(8, 10, 16, 16, generator=torch.Generator().manual_seed(1)) > 0.2
    pad = torch.zeros(8, 10, dtype=torch.bool)
    pad[::2, 8:] = True
    losses = []
    for step in range(200):
        i = slice(2 * (step % 4), 2 * (step % 4) + 2)
        prediction, mask = model(x[i], days[i], pad[i], 0.6)
        loss = masked_reconstruction_loss(prediction, x[i], mask, clear[i], pad[i])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    first, last = sum(losses[:20]) / 20, sum(losses[-20:]) / 20
    assert last < 0.5 * first, (first, last)
