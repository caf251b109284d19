"""A worker's job on cores that other processes share: every core, or fewer threads.

Runs one small U-BARN segmentation job as the worker does (``LocalBackend.start``: the
job's entry point in a spawned process) once per ``--threads`` value, while ``--busy``
processes each hold one core with a busy loop, and prints each job's wall time. "all" is
the default (torch's one thread per core); a number is what ``SITSLAB_JOB_CPU_THREADS``
sets.

    .venv/bin/python bench/bench_job_threads.py [--busy 1] [--threads all,1] [--repeats 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _spin() -> None:
    """Hold one core until terminated."""
    while True:
        pass


def _job_seconds(snapshot: Path, job_dir: Path, threads: int | None, epochs: int) -> float:
    """Wall time of one fine-tuning job, started by the local backend, to its exit."""
    from backend.worker.local import LocalBackend

    spec = {
        "job_id": 1,
        "kind": "finetune",
        "attempt": 1,
        "job_dir": str(job_dir),
        "snapshot": str(snapshot),
        "config": {"model": "tiny", "epochs": epochs, "seed": 0, "device": "cpu"},
        "cpu_threads": threads,
    }
    started = time.perf_counter()
    execution = LocalBackend().start(spec, env={})
    execution.process.join()
    if execution.exit_code() != 0:
        raise RuntimeError(f"the job failed; see {job_dir}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--busy", type=int, default=1, help="cores held by busy loops")
    parser.add_argument("--threads", default="all,1", help="'all' or a number, comma-separated")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--patches", type=int, default=24)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--dates", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()

    from ml.data.snapshot import make_training_set

    choices = [None if t == "all" else int(t) for t in args.threads.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        snapshot = make_training_set(
            root / "store", n_patches=args.patches, size=args.size, n_dates=args.dates
        )
        spinners = [
            multiprocessing.get_context("spawn").Process(target=_spin, daemon=True)
            for _ in range(args.busy)
        ]
        for spinner in spinners:
            spinner.start()
        try:
            seconds: dict[int | None, list[float]] = {t: [] for t in choices}
            for repeat in range(args.repeats):
                for threads in choices:  # interleaved, so a drifting load hits every choice
                    job_dir = root / f"job-{threads or 'all'}-{repeat}"
                    seconds[threads].append(_job_seconds(snapshot, job_dir, threads, args.epochs))
        finally:
            for spinner in spinners:
                spinner.terminate()
    print(
        f"{os.cpu_count()} cores, {args.busy} held by busy loops; tiny U-BARN, "
        f"{args.patches} patches of {args.size}² px × {args.dates} dates, {args.epochs} epochs"
    )
    print("| job threads | wall s (median) | runs |")
    print("|---|---|---|")
    for threads, times in seconds.items():
        runs = ", ".join(f"{s:.1f}" for s in times)
        print(f"| {threads or 'all'} | {statistics.median(times):.1f} | {runs} |")


if __name__ == "__main__":
    main()
