"""A real tiny Random Forest run, and Run rows pointing at run folders in the data directory.

The forest is trained on a snapshot generated like the `ingested_dataset` patches (same
generator seed, dates and bands), so it can predict them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy.orm import Session

from backend.models import Run
from ml.context import LocalContext
from ml.data.snapshot import make_training_set
from ml.rf import train_run

FAST_RF = {
    "params": {"n_estimators": 5, "n_jobs": 1},
    "max_per_class": 200,
    "oso_maps": False,
    "plots": False,
}


def train_tiny_rf(root: Path) -> Path:
    """Train a 5-tree forest on 4 synthetic 16 px patches; returns the run folder."""
    snapshot = make_training_set(root / "set", n_patches=4, size=16, n_dates=6, seed=3)
    ctx = LocalContext(checkpoint_dir=root / "ckpt", out_dir=root / "out")
    train_run(ctx, snapshot=snapshot, config=FAST_RF)
    return ctx.out_dir


def add_run(session: Session, data_dir: Path, name: str, source: Path | None = None) -> Run:
    """A Run row whose folder (data_dir/runs/<name>) is a copy of `source`, or left empty."""
    folder = data_dir / "runs" / name
    if source is not None:
        shutil.copytree(source, folder)
    else:
        folder.mkdir(parents=True)
    run = Run(kind="rf", name=name, params={}, out_dir=f"runs/{name}")
    session.add(run)
    session.commit()
    return run
