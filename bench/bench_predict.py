"""Map production throughput: pixels per second for the RF and U-BARN predictors.

Trains a tiny Random Forest and a tiny U-BARN (one epoch, CPU unless --device cuda) on a
synthetic training set, predicts a larger synthetic scene with each through
ml.predict.predict_map (sliding windows, blending, COG output), and projects the time
for one Sentinel-2 tile (10,980 x 10,980 px) and for metropolitan France (~550,000 km²
at 10 m = 5.5e9 px) on one such worker. Figures scale with the number of dates.

    .venv/bin/python bench/bench_predict.py [--side 256] [--dates 16] [--device cpu]
        [--batches 1,16]

``--batches`` lists how many U-BARN windows each forward pass takes (the predictor's
``batch``: by default 1 on a CPU, 16 on a GPU); the forest always takes one block.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ml.context import LocalContext
from ml.data.snapshot import make_training_set
from ml.data.synthetic import generate
from ml.models.registry import load_predictor
from ml.predict import predict_map
from ml.scene import open_scene

S2_TILE_PX = 10_980**2
FRANCE_PX = 550_000 * 1e6 / 100


def train(root: Path, kind: str, snapshot: Path, device: str) -> Path:
    """A tiny finished run of `kind` ("rf" or "ubarn"); returns its out_dir."""
    ctx = LocalContext(root / kind / "ckpt", root / kind / "out")
    if kind == "rf":
        from ml.rf import train_run

        train_run(ctx, snapshot=snapshot, config={"seed": 0})
    else:
        from ml.train.finetune import run

        run(ctx, snapshot=snapshot, config={"model": "tiny", "epochs": 1, "device": device})
    return ctx.out_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=256, help="RF scene side in pixels")
    parser.add_argument(
        "--ubarn-side", type=int, default=64, help="U-BARN scene side (slow on CPU)"
    )
    parser.add_argument("--dates", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", default="rf,ubarn")
    parser.add_argument(
        "--batches", default="", help="U-BARN windows per pass to compare (default: its own)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        snapshot = make_training_set(
            root / "train", n_patches=9, size=32, n_dates=args.dates, seed=0
        )
        scenes = {}
        for side in sorted({args.side, args.ubarn_side}):
            src = root / f"scene-{side}"
            generate(
                src,
                n_patches=max(1, (side // 32) ** 2),
                patch_size=32,
                n_dates=args.dates,
                seed=1,
            )
            scenes[side] = open_scene(src / "scene" / "series.tif", src / "scene" / "clouds.tif")
        header = (
            f"{'model':8} {'scene':>6} {'window':>7} {'halo':>5} {'batch':>5} {'px/s':>10} "
            f"{'total s':>8} {'S2 tile h':>10} {'France h':>10}"
        )
        print(header)
        print("-" * len(header))
        runs = []
        for kind in args.models.split(","):
            try:
                run_dir = train(root, kind, snapshot, args.device)
                predictor = load_predictor(run_dir, device=args.device)
            except Exception as exc:  # noqa: BLE001 - report which model could not be benched
                print(f"{kind:8} unavailable: {type(exc).__name__}: {exc}")
                continue
            scene = scenes[args.side if kind == "rf" else args.ubarn_side]
            windows = [None] if predictor.window is None else [None, 2 * predictor.window]
            batches = [int(b) for b in args.batches.split(",") if b and kind == "ubarn"]
            runs += [
                (kind, predictor, scene, w, b)
                for w in windows
                for b in batches or [predictor.batch]
            ]
        for i, (kind, predictor, scene, window, batch) in enumerate(runs):
            predictor.batch = batch
            start = time.perf_counter()
            name = f"{kind}-{i}"
            predict_map(
                predictor, scene, out_dir=root / name, work_dir=root / f"work-{name}", window=window
            )
            total = time.perf_counter() - start
            rate = scene.width * scene.height / total
            side = window or predictor.window or "block"
            print(
                f"{kind:8} {scene.width:>6} {side:>7} {predictor.halo:>5} {batch:>5} "
                f"{rate:>10,.0f} {total:>8.1f} "
                f"{S2_TILE_PX / rate / 3600:>10.2f} {FRANCE_PX / rate / 3600:>10,.0f}"
            )
        print("px/s counts the whole production (reading, windows, blending, writing, COG).")


if __name__ == "__main__":
    main()
