"""Self-supervised pre-training of U-BARN on a snapshot's patches (labels unused).

Dumeur, Valero, Inglada, IEEE JSTARS 17, 2024, Sec. III-B: masked reconstruction of
corrupted SSE embeddings, Adam 1e-3, ReduceLROnPlateau and early stopping on the
validation reconstruction loss. The encoder learns from the train split's images; the
val split selects the epoch and the test split gives the reported loss.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from ml.context import JobContext
from ml.data.snapshot import with_corpus
from ml.models.ubarn_pretext import PretrainModel, masked_reconstruction_loss
from ml.train.artifacts import stopped_result, write_json, write_run
from ml.train.base import Batch, Trainer
from ml.train.config import resolve_config
from ml.train.data import band_stats, load_training_set, make_datasets, survey


class PretrainTrainer(Trainer):
    """Masked-reconstruction pre-training (monitors the validation loss)."""

    stage = "pretrain"
    monitor = "val_loss"
    maximise = False

    def configure_model(self) -> PretrainModel:
        """Encoder and linear reconstruction head of the configured size."""
        return PretrainModel(self.config.network)

    def training_step(self, batch: Batch) -> torch.Tensor:
        """The reconstruction loss of the trained model."""
        return self.corrupted_loss(self.model, batch)

    def corrupted_loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        """Corrupt, reconstruct with ``model``, and score the corrupted clear pixel-dates."""
        reconstruction, mask = model(
            batch["x"], batch["days"], batch["pad"], self.config.mask_rate, batch["clear"]
        )
        return masked_reconstruction_loss(
            reconstruction, batch["x"], mask, batch["clear"], batch["pad"]
        )

    def reconstruction_loss(self, model: nn.Module, loader: DataLoader) -> float:
        """``model``'s mean loss over a loader, with the same corruption draw every time.

        The corruption is drawn from a generator forked from the training one and seeded
        with the run's seed, so validation losses of different epochs are comparable and
        validating does not change the training run's random stream.
        """
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        losses = []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.config.seed)
            for batch in loader:
                losses.append(float(self.corrupted_loss(model, self.to_device(batch))))
        return sum(losses) / len(losses)

    def validation_scores(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        """{"val_loss": ...} of ``model``."""
        return {"val_loss": self.reconstruction_loss(model, loader)}


def run(ctx: JobContext, *, snapshot: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Pre-train U-BARN on a snapshot; write the run into ``ctx.out_dir``.

    Writes run.json ({"kind": "ubarn", "stage": "pretrain", config, network,
    normalisation, ...}), model.pt (encoder + reconstruction head), results.json (test
    reconstruction loss, timings) and learning curves. Resumes from ``ctx.checkpoint_dir``.

    Args:
        ctx: job context.
        snapshot: training-set snapshot JSON file.
        config: see ``ml.train.config.TrainConfig`` (``regime``, ``pretrained`` and
            ``label_fraction`` do not apply), and ``corpus``: snapshot files of other
            datasets whose every patch joins the train split (``with_corpus``).

    Returns:
        The results dict, or {"status": "cancelled", "stopped": True, ...} when cancelled.
    """
    config = dict(config)
    corpus = [load_training_set(Path(path), ()) for path in config.pop("corpus", None) or ()]
    cfg = resolve_config(config, "pretrain")
    training_set = with_corpus(load_training_set(snapshot, ("train", "val")), corpus)
    max_dates = survey(training_set, cfg)
    stats = band_stats(ctx, training_set, cfg, None)
    train, val, test = make_datasets(
        training_set,
        training_set.split("train"),
        cfg,
        stats,
        None,
        max_dates=max_dates,
        whole_test=False,
    )
    trainer = PretrainTrainer(ctx, cfg, train, val)
    fit = trainer.fit()
    if fit.stopped:
        return stopped_result(fit)
    trainer.load_best()
    trainer.model.eval()
    start = time.perf_counter()
    with torch.no_grad(), trainer.autocast():
        test_loss = (
            trainer.reconstruction_loss(trainer.model, trainer.ordered_loader(test))
            if len(test)
            else None
        )
    results = {
        "kind": "ubarn",
        "stage": "pretrain",
        "test_loss": test_loss,
        "best_val_loss": fit.best_score,
        "best_epoch": fit.best_epoch,
        "epochs_run": fit.epochs_run,
        "fit_seconds": fit.train_time_s,
        "test_seconds": time.perf_counter() - start,
        "snapshot": training_set.id,
        "train_patches": len(training_set.split("train")),
        "stopped": False,
    }
    run_info = {
        "stage": "pretrain",
        "config": cfg.to_dict(),
        "network": cfg.network.to_dict(),
        "bands": list(training_set.bands),
        "normalisation": stats.to_dict(),
        "snapshot": training_set.id,
        "corpus": [{"snapshot": extra.id, "patches": len(extra.patches)} for extra in corpus],
        "max_dates": train.max_dates,
    }
    write_run(ctx.out_dir, run_info, trainer.model, fit, "U-BARN pre-training")
    write_json(ctx.out_dir / "results.json", results)
    ctx.progress(1.0, f"done: test reconstruction loss {test_loss}")
    return results
