"""Fixtures for the U-BARN trainer tests: a tiny synthetic snapshot, contexts, one thread."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ml.context import LocalContext
from ml.data.snapshot import make_training_set

TINY_RUN = {"model": "tiny", "epochs": 2, "patch_size": 16, "batch_size": 2, "seed": 0}


@pytest.fixture
def tiny_run() -> dict:
    """A run config that takes seconds on a CPU: tiny network, 16×16 crops, two epochs."""
    return dict(TINY_RUN)


@pytest.fixture(scope="session")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six synthetic 16×16 patches with 6 dates (3 train, 1 val, 2 test), OSO classes."""
    return make_training_set(tmp_path_factory.mktemp("store"), n_patches=6, size=16, n_dates=6)


@pytest.fixture(scope="session")
def pretrained_run(snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The out_dir of one tiny pre-training run, shared by the fine-tuning tests."""
    from ml.train import pretrain

    root = tmp_path_factory.mktemp("pretrain")
    torch.set_num_threads(1)
    ctx = LocalContext(root / "checkpoints", root / "out")
    pretrain.run(ctx, snapshot=snapshot, config=TINY_RUN)
    return ctx.out_dir


class StopAfter(LocalContext):
    """A context whose job is cancelled after ``steps`` calls to ``should_stop``."""

    def __init__(self, checkpoint_dir: Path, out_dir: Path, steps: int) -> None:
        super().__init__(checkpoint_dir, out_dir)
        self.remaining = steps

    def should_stop(self) -> bool:
        self.remaining -= 1
        if self.remaining < 0:
            self.stop_event.set()
        return super().should_stop()


@pytest.fixture
def make_context(tmp_path: Path):  # noqa: ANN201 - returns a factory
    """Contexts with their folders under the test's tmp dir: make_context("a", stop_after=3)."""

    def make(name: str, stop_after: int | None = None) -> LocalContext:
        ck, out = tmp_path / name / "checkpoints", tmp_path / name / "out"
        return LocalContext(ck, out) if stop_after is None else StopAfter(ck, out, stop_after)

    return make
