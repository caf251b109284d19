"""Synthetic benchmark generation and layout validation speed.

Usage: python bench/bench_synth.py [--sizes 100x24,1000x30] [--patch-size 64]
For each size (patches x dates) prints generation time (wall and CPU), throughput, the
dataset's size on disk, and the time of ``ml.data.layouts.scan`` (full validation,
pixels decoded) and of loading every patch.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def _disk(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes", default="100x24,1000x30", help="patches x dates, comma-separated"
    )
    parser.add_argument("--patch-size", type=int, default=64)
    args = parser.parse_args()

    from ml.data.layouts import scan
    from ml.data.synthetic import generate

    header = (
        f"{'patches':>8} {'size':>5} {'dates':>5} {'gen wall s':>10} {'gen cpu s':>9} "
        f"{'patch/s':>8} {'MiB':>7} {'scan s':>7} {'load s':>7}"
    )
    print(header)
    print("-" * len(header))
    for spec in args.sizes.split(","):
        n_patches, n_dates = (int(v) for v in spec.split("x"))
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "synth"
            wall, cpu = time.perf_counter(), time.process_time()
            generate(out, n_patches=n_patches, patch_size=args.patch_size, n_dates=n_dates, seed=1)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            start = time.perf_counter()
            dataset = scan(out)
            scanned = time.perf_counter() - start
            assert dataset.ok, dataset.problems[:3]
            start = time.perf_counter()
            for patch in dataset.patches:
                patch.load()
            loaded = time.perf_counter() - start
            print(
                f"{n_patches:>8} {args.patch_size:>5} {n_dates:>5} {wall:>10.1f} {cpu:>9.1f} "
                f"{n_patches / wall:>8.1f} {_disk(out):>7.0f} {scanned:>7.1f} {loaded:>7.1f}"
            )


if __name__ == "__main__":
    main()
