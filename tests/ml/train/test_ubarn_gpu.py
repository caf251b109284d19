"""U-BARN on CUDA: mixed-precision training and inference agree with the CPU path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ml.data.snapshot import TrainingSet
from ml.data.store import read_patch
from ml.models.ubarn import MODEL_SIZES, UBarnEncoder
from ml.models.ubarn_predictor import GPU_BATCH, load_ubarn_predictor
from ml.train import finetune, pretrain

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_pretrain_and_finetune_run_on_cuda_with_mixed_precision(
    snapshot: Path, make_context, tiny_run: dict
) -> None:
    config = {**tiny_run, "device": "cuda"}
    pre = make_context("pre")
    assert pretrain.run(pre, snapshot=snapshot, config=config)["test_loss"] > 0
    ft = make_context("ft")
    tuned = {**config, "regime": "finetune", "pretrained": str(pre.out_dir)}
    results = finetune.run(ft, snapshot=snapshot, config=tuned)
    assert np.isfinite(results["oa"]) and all(np.isfinite(v) for _, v, _ in ft.metrics)
    patch = read_patch(TrainingSet.load(snapshot).split("test")[0].dir)
    block = (patch.series, patch.clouds, patch.dates, patch.bands)
    gpu = load_ubarn_predictor(ft.out_dir, "cuda")
    on_gpu = gpu.predict_proba(*block)
    on_cpu = load_ubarn_predictor(ft.out_dir, "cpu").predict_proba(*block)
    assert np.abs(on_gpu - on_cpu).max() < 0.05  # bf16 inference vs fp32
    # Map production hands the GPU several windows per pass; each gets its own answer.
    assert gpu.batch == GPU_BATCH
    series = np.stack([patch.series, patch.series[..., ::-1]])
    batched = gpu.predict_windows(series, np.stack([patch.clouds] * 2), patch.dates, patch.bands)
    assert np.abs(batched[0] - on_gpu).max() < 0.05
    flipped = gpu.predict_proba(series[1], patch.clouds, patch.dates, patch.bands)
    assert np.abs(batched[1] - flipped).max() < 0.05


def test_more_sequences_than_the_fused_kernel_limit() -> None:
    torch.manual_seed(0)
    encoder = UBarnEncoder(MODEL_SIZES["tiny"]).cuda().eval()
    x = torch.randn(1, 3, 10, 272, 272, device="cuda")  # 73,984 pixel sequences
    days = torch.tensor([[10.0, 50.0, 90.0]], device="cuda")
    pad = torch.zeros(1, 3, dtype=torch.bool, device="cuda")
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        out = encoder(x, days, pad)
    assert out.shape == (1, 3, 32, 272, 272) and torch.isfinite(out).all()
