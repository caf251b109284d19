"""U-BARN segmentation: attention pooling over dates, regimes, and learning a tiny set."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ml.models.ubarn import MODEL_SIZES
from ml.models.ubarn_heads import MasterQueryPooling, SegmentationModel

TINY = MODEL_SIZES["tiny"]


def test_pooling_ignores_padded_dates() -> None:
    torch.manual_seed(0)
    pooling = MasterQueryPooling(32, 4, 8).eval()
    z = torch.randn(50, 6, 32)
    pad = torch.zeros(50, 6, dtype=torch.bool)
    pad[:, 4:] = True
    reference = pooling(z, pad)
    z2 = z.clone()
    z2[:, 4:] = torch.randn(50, 2, 32) * 1e3
    torch.testing.assert_close(pooling(z2, pad), reference)
    torch.testing.assert_close(pooling(z[:, :4], pad[:, :4]), reference, atol=1e-5, rtol=1e-4)


def test_pooling_refuses_heads_that_do_not_split_the_features() -> None:
    with pytest.raises(ValueError, match="divisible"):
        MasterQueryPooling(30, 4, 8)


def test_logits_cover_every_pixel_and_any_block_size() -> None:
    torch.manual_seed(0)
    model = SegmentationModel(TINY, n_classes=5).eval()
    x, days = torch.randn(2, 4, 10, 16, 16), torch.arange(4.0).repeat(2, 1) * 30
    pad = torch.zeros(2, 4, dtype=torch.bool)
    assert model(x, days, pad).shape == (2, 5, 16, 16)
    assert model.predict_logits(x[..., :13, :11], days, pad).shape == (2, 5, 13, 11)
    assert model.predict_logits(x[..., :3, :2], days, pad).shape == (2, 5, 3, 2)
    torch.testing.assert_close(model.predict_logits(x, days, pad), model(x, days, pad))


def test_frozen_encoder_is_unchanged_by_a_training_step() -> None:
    torch.manual_seed(0)
    model = SegmentationModel(TINY, n_classes=3, frozen=True).train()
    assert not model.encoder.training and model.pooling.training
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    head_before = model.classifier.weight.clone()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(trainable, lr=1e-2)
    x, days = torch.randn(2, 4, 10, 16, 16), torch.arange(4.0).repeat(2, 1) * 30
    labels = torch.randint(0, 3, (2, 16, 16))
    loss = F.cross_entropy(model(x, days, torch.zeros(2, 4, dtype=torch.bool)), labels)
    loss.backward()
    optimiser.step()
    for name, value in model.encoder.state_dict().items():
        assert torch.equal(value, before[name]), name  # weights and BatchNorm statistics
    assert not torch.equal(model.classifier.weight, head_before)


@pytest.mark.slow
def test_head_overfits_a_tiny_labelled_set(make_seasonal) -> None:
    torch.manual_seed(0)
    x, days, labels = make_seasonal(2, 6, 16, n_classes=3, seed=3)
    pad = torch.zeros(2, 6, dtype=torch.bool)
    model = SegmentationModel(TINY, n_classes=3).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(60):
        loss = F.cross_entropy(model(x, days, pad), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    accuracy = (model.eval()(x, days, pad).argmax(1) == labels).float().mean()
    assert accuracy > 0.95, accuracy
