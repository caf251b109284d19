"""U-BARN speed: inference pixels per second and training step time of the trainer's presets.

Each preset's network as it trains (``ml.train.config.PRESETS``: tiny and small with
BatchNorm reading each pixel's clear dates, paper with GroupNorm reading every date;
``--encoder-norm``, ``--mask-clouds/--every-date`` and ``--pixel-skip`` override them), on
random inputs of the shapes the presets are benchmarked on (tiny and small: 32×32 crops,
paper: 64×64 crops; T dates, 20 % of each pixel's dates cloudy; batch 2 for training as in
the paper).
Inference is the segmentation model (encoder + attention pooling + classifier) in eval
mode without gradients, one patch per call as in map production; a training step is
forward + backward + Adam on the fine-tuning loss. CPU always; CUDA too when present (bf16
autocast, as the trainers use it).

    python bench/bench_ubarn_throughput.py [--dates 30] [--repeats 2] [--threads 1]
        [--presets tiny small paper] [--encoder-norm group] [--every-date] [--pixel-skip]

One CPU thread by default: on a small machine shared with other work, two threads
contend and run several times slower than one. The paper config on a CPU takes a few
minutes (about 9 s per 64×64 patch, about 70 s per training step on one core).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F

from ml.models.ubarn_heads import SegmentationModel
from ml.models.ubarn_sse import ENCODER_NORMS
from ml.train.config import PRESETS
from ml.train.finetune import NETWORK_SETTINGS

CROPS = {"tiny": 32, "small": 32, "paper": 64}
N_CLASSES = 23
CLOUDY_SHARE = 0.2
DATES_READ = {True: "clear dates", False: "every date"}


def _timed(fn: Callable[[], None], device: torch.device, repeats: int) -> float:
    """Median seconds of ``fn`` (after a warm-up call on CUDA, where kernels load lazily)."""
    if device.type == "cuda":
        fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def bench(
    size: str, device: torch.device, dates: int, repeats: int, **settings: Any
) -> dict[str, Any]:
    """Inference pixels/s and seconds per training step for one preset on one device;
    ``settings`` (``NETWORK_SETTINGS``) replace the preset's."""
    torch.manual_seed(0)
    side = CROPS[size]
    network = replace(PRESETS[size], **settings).network
    model = SegmentationModel(network, N_CLASSES).to(device)
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    days = torch.linspace(0, 360, dates, device=device).repeat(2, 1)
    pad = torch.zeros(2, dates, dtype=torch.bool, device=device)
    x = torch.randn(2, dates, 10, side, side, device=device)
    clear = torch.rand(2, dates, side, side, device=device) >= CLOUDY_SHARE
    labels = torch.randint(0, N_CLASSES, (2, side, side), device=device)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)

    def infer() -> None:
        with torch.no_grad(), amp:
            model.predict_logits(x[:1], days[:1], pad[:1], clear[:1])

    def train_step() -> None:
        with amp:
            loss = F.cross_entropy(model(x, days, pad, clear).float(), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    model.eval()
    infer_s = _timed(infer, device, repeats)
    model.train()
    step_s = _timed(train_step, device, repeats)
    return {
        "params": sum(p.numel() for p in model.encoder.parameters()),
        "infer_s": infer_s,
        "pixels_per_s": side * side / infer_s,
        "step_s": step_s,
        "side": side,
        "network": f"{network.encoder_norm}, {DATES_READ[network.mask_clouds]}"
        + (", pixel skip" if network.pixel_skip else ""),
    }


def main() -> None:
    """Print one table row per (preset, device)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dates", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--presets", nargs="+", choices=CROPS, default=list(CROPS))
    parser.add_argument("--encoder-norm", choices=ENCODER_NORMS, help="default: the preset's")
    dates_read = parser.add_mutually_exclusive_group()  # neither: the preset's
    dates_read.add_argument("--mask-clouds", action="store_true", default=None)
    dates_read.add_argument("--every-date", dest="mask_clouds", action="store_false")
    parser.add_argument("--pixel-skip", action="store_true", default=None)
    args = parser.parse_args()
    settings = {
        key: getattr(args, key) for key in NETWORK_SETTINGS if getattr(args, key) is not None
    }
    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    header = (
        f"{'preset':<6} {'network':<32} {'device':<6} {'encoder params':>14} {'input (T×H×W)':>14} "
        f"{'infer s/patch':>13} {'infer px/s':>11} {'train s/step (B=2)':>18}"
    )
    print(f"U-BARN throughput, T = {args.dates}, CPU threads = {args.threads}")
    print(header)
    print("-" * len(header))
    for device in devices:
        for size in args.presets:
            r = bench(size, device, args.dates, args.repeats, **settings)
            shape = f"{args.dates}×{r['side']}×{r['side']}"
            print(
                f"{size:<6} {r['network']:<32} {device.type:<6} {r['params']:>14,} {shape:>14} "
                f"{r['infer_s']:>13.3f} {r['pixels_per_s']:>11,.0f} {r['step_s']:>18.3f}"
            )


if __name__ == "__main__":
    main()
