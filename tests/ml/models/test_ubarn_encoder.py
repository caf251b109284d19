"""U-BARN encoder: shapes, input checks, padding invariance, date codes, chunking."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from ml.models.ubarn import MODEL_SIZES, UBarnConfig, UBarnEncoder, date_encoding

TINY = MODEL_SIZES["tiny"]


def _inputs(b: int = 2, t: int = 5, h: int = 16, w: int = 16, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, t, 10, h, w, generator=g)
    days = torch.sort(torch.randint(0, 365, (b, t), generator=g), dim=1).values.float()
    return x, days, torch.zeros(b, t, dtype=torch.bool)


def test_output_is_one_vector_per_pixel_and_date() -> None:
    torch.manual_seed(0)
    encoder = UBarnEncoder(TINY)
    x, days, pad = _inputs(2, 5, 16, 24)
    assert encoder(x, days, pad).shape == (2, 5, TINY.d_model, 16, 24)


def test_paper_config_has_the_published_size() -> None:
    encoder = UBarnEncoder(MODEL_SIZES["paper"])
    n_params = sum(p.numel() for p in encoder.parameters())
    assert 1.05e6 < n_params < 1.15e6  # the paper: about 1.11 M


@pytest.mark.parametrize(("size", "h", "w"), [("tiny", 10, 16), ("paper", 16, 12)])
def test_sides_not_multiple_of_the_downsampling_are_refused(size: str, h: int, w: int) -> None:
    encoder = UBarnEncoder(MODEL_SIZES[size])
    x, days, pad = _inputs(1, 3, h, w)
    with pytest.raises(ValueError, match="multiples of"):
        encoder(x, days, pad)


def test_a_series_made_only_of_padding_is_refused() -> None:
    encoder = UBarnEncoder(TINY)
    x, days, pad = _inputs(2, 3)
    pad[1] = True
    with pytest.raises(ValueError, match="at least one date"):
        encoder(x, days, pad)


def test_the_pixel_skip_adds_each_pixels_own_projected_bands() -> None:
    """What the skip adds to a pixel's embedding is the 1×1 projection of that pixel's bands
    on that date, none of its neighbours'; padded dates stay zero; and the rest of the
    network keeps its weights' names, so runs made without the skip load as before."""
    torch.manual_seed(0)
    skipping = UBarnEncoder(replace(TINY, pixel_skip=True)).eval()
    plain = UBarnEncoder(TINY).eval()
    plain.load_state_dict(
        {k: v for k, v in skipping.state_dict().items() if not k.startswith("pixel.")}
    )
    x, _, pad = _inputs(2, 4)
    pad[1, 3] = True
    added = skipping.embed(x, pad) - plain.embed(x, pad)

    weight, bias = skipping.pixel.weight[:, :, 0, 0], skipping.pixel.bias
    expected = torch.einsum("dc,btchw->btdhw", weight, x) + bias[:, None, None]
    valid = ~pad
    assert torch.allclose(added[valid], expected[valid], atol=1e-5)
    assert not added[pad].any()


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_padded_dates_leave_valid_dates_unchanged(mode: str) -> None:
    torch.manual_seed(0)
    encoder = UBarnEncoder(TINY).eval() if mode == "eval" else UBarnEncoder(TINY).train()
    x, days, pad = _inputs(2, 4)
    reference = encoder(x, days, pad)
    # insert 3 padded dates with garbage content at the front, the middle and the end
    garbage = torch.randn(2, 3, 10, 16, 16) * 100
    x2 = torch.cat([garbage[:, :1], x[:, :2], garbage[:, 1:2], x[:, 2:], garbage[:, 2:]], dim=1)
    days2 = torch.cat(
        [
            days[:, :1] * 0 + 999,
            days[:, :2],
            days[:, :1] * 0 - 5,
            days[:, 2:],
            days[:, :1] * 0 + 42,
        ],
        dim=1,
    )
    pad2 = torch.tensor([True, False, False, True, False, False, True]).expand(2, 7).clone()
    out = encoder(x2, days2, pad2)
    torch.testing.assert_close(out[:, ~pad2[0]], reference, atol=1e-5, rtol=1e-4)
    assert out[:, pad2[0]].abs().max() == 0


def test_date_codes_are_bounded_and_distinct() -> None:
    days = torch.arange(0, 366).float()[None]
    code = date_encoding(days, 64)[0]
    assert code.shape == (366, 64)
    assert code.abs().max() <= 1.0
    distances = torch.cdist(code, code) + torch.eye(366) * 10
    assert distances.min() > 1e-3


def test_chunked_transformer_equals_one_call() -> None:
    torch.manual_seed(0)
    encoder = UBarnEncoder(TINY).eval()
    x, days, pad = _inputs(2, 4)
    pad[0, 3] = True
    whole = encoder(x, days, pad)
    encoder.max_sequences = 100  # 2·16·16 = 512 sequences → 6 chunks
    torch.testing.assert_close(encoder(x, days, pad), whole, atol=1e-6, rtol=1e-5)


def test_config_round_trips_and_refuses_unknown_keys() -> None:
    assert UBarnConfig.from_dict(TINY.to_dict()) == TINY
    with pytest.raises(ValueError, match="unknown"):
        UBarnConfig.from_dict({**TINY.to_dict(), "depth": 3})
