"""The training loop shared by U-BARN's pre-training and fine-tuning.

Subclasses fill in ``configure_model`` / ``training_step`` / ``validation_scores`` (and
may override ``configure_optimiser`` / ``configure_scheduler``), as torchgeo's trainers do.
The loop follows the paper's protocol (Dumeur et al., IEEE JSTARS 17, 2024): Adam,
ReduceLROnPlateau and early stopping on a validation score (loss for pre-training, mean F1
for fine-tuning), optionally on a moving average of the weights (``ema_decay``). Around
it sits what a queued job needs: a checkpoint after every epoch and on cancellation,
resumption from it with bit-identical results, progress and metric events, and mixed
precision on CUDA only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader

from ml.context import JobContext
from ml.data.dataset import SitsDataset
from ml.train import checkpoint
from ml.train.config import TrainConfig, autocast_dtype, resolve_device

Batch = dict[str, torch.Tensor]
PROGRESS_EVERY_STEPS = 50


@dataclass
class FitResult:
    """How a call to ``Trainer.fit`` ended."""

    stopped: bool
    """Cancelled through the context: a checkpoint was saved, outputs were not written."""
    epochs_run: int
    best_epoch: int
    best_score: float | None
    history: list[dict[str, float]]
    train_time_s: float


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The shuffled batches of one epoch, a pure function of (seed, epoch)."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(n, generator=generator).tolist()
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def unbiased_ema(
    decay: float,
) -> Callable[[list[torch.Tensor], list[torch.Tensor], torch.Tensor], None]:
    """An exponential moving average without the first weights' excess weight.

    torch's ``get_ema_multi_avg_fn`` starts the average from the first step's weights, which
    then weigh ``decay ** steps``: with 0.99, still a third after 100 steps, so a short run
    is validated on weights close to where it began. Here update ``n + 1`` uses the decay
    ``decay * (1 - decay**n) / (1 - decay**(n + 1))``, which keeps the average equal to the
    weights so far weighted by ``decay ** age`` and normalised (the bias correction of
    Adam's moments, Kingma and Ba 2015): nearly the mean of the steps while they are few, the
    plain moving average once ``decay ** steps`` is negligible.
    """

    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n: torch.Tensor) -> None:
        # int(n) waits for the device, as the training step's read of the loss does anyway
        earlier = decay ** int(n)
        step_decay = decay * (1 - earlier) / (1 - earlier * decay)
        for kept, new in zip(averaged, current, strict=True):
            if kept.is_floating_point():
                kept.lerp_(new, 1 - step_decay)
            else:  # BatchNorm's step counter: follow the model
                kept.copy_(new)

    return update


class Trainer:
    """Trains ``self.model`` on ``train_set``, selecting on ``val_set``.

    Args:
        ctx: the job context (events, cancellation, checkpoint and output folders).
        config: the run's settings.
        train_set: training samples (augmented).
        val_set: validation samples (not augmented).
    """

    stage: ClassVar[str]
    monitor: ClassVar[str]
    maximise: ClassVar[bool]

    def __init__(
        self, ctx: JobContext, config: TrainConfig, train_set: SitsDataset, val_set: SitsDataset
    ) -> None:
        if len(train_set) == 0 or len(val_set) == 0:
            raise ValueError("the snapshot needs patches in both the train and val splits")
        self.ctx, self.config = ctx, config
        self.train_set, self.val_set = train_set, val_set
        self.device = resolve_device(config.device)
        torch.manual_seed(config.seed)
        np.random.seed(config.seed)  # for any library code that draws from numpy's global RNG
        torch.backends.cudnn.benchmark = False
        self.model = self.configure_model().to(self.device)
        self.average = (
            AveragedModel(self.model, multi_avg_fn=unbiased_ema(config.ema_decay), use_buffers=True)
            if config.ema_decay
            else None
        )
        self.optimiser = self.configure_optimiser()
        self.scheduler = self.configure_scheduler()
        self.amp_dtype = autocast_dtype(self.device, config.amp)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)

    # -- hooks ---------------------------------------------------------------------------

    def configure_model(self) -> nn.Module:
        """Build the network (weights initialised from the seeded generator)."""
        raise NotImplementedError

    def configure_optimiser(self) -> torch.optim.Optimizer:
        """Adam over the trainable parameters (a frozen encoder has none)."""
        params = [p for p in self.model.parameters() if p.requires_grad]
        return torch.optim.Adam(params, lr=self.config.lr)

    def configure_scheduler(self) -> ReduceLROnPlateau:
        """Lower the learning rate when the monitored score stalls."""
        return ReduceLROnPlateau(
            self.optimiser,
            mode="max" if self.maximise else "min",
            factor=self.config.lr_factor,
            patience=self.config.lr_patience,
        )

    @property
    def warm_up_epochs(self) -> int:
        """First epochs that neither lower the learning rate nor count towards early stopping:
        a plateau there says nothing about the training that follows."""
        return 0

    def start_epoch(self, epoch: int) -> None:
        """Set-up that depends on the epoch, before its first step (also when resuming)."""

    def training_step(self, batch: Batch) -> torch.Tensor:
        """The loss of one batch (already on the device, inside autocast)."""
        raise NotImplementedError

    def validation_scores(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        """Scores of ``model`` (in eval mode) over the validation set, including
        ``self.monitor``."""
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------------------

    @property
    def evaluated(self) -> nn.Module:
        """The weights validated and kept as the best: the moving average when there is one
        (BatchNorm's running statistics averaged with them), else the trained ones."""
        return self.model if self.average is None else self.average.module

    def autocast(self) -> AbstractContextManager[Any]:
        """Mixed precision on CUDA (bf16 where supported, else fp16), nothing on CPU."""
        return torch.autocast(
            self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None
        )

    def to_device(self, batch: Batch) -> Batch:
        """Move every tensor of a batch to the training device."""
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def loader(self, dataset: SitsDataset, batches: list[list[int]]) -> DataLoader:
        """Batches in the given order, loaded in this process (reproducible).

        The loader gets its own generator: without one, each new iterator draws a seed
        from torch's global generator, so a run resumed mid-epoch (one more iterator)
        would drift from an uninterrupted one.
        """
        pin = self.device.type == "cuda"
        generator = torch.Generator().manual_seed(self.config.seed)
        return DataLoader(
            dataset, batch_sampler=batches, num_workers=0, pin_memory=pin, generator=generator
        )

    def ordered_loader(self, dataset: SitsDataset, batch_size: int | None = None) -> DataLoader:
        """A dataset in order, by training-size batches (or ``batch_size``)."""
        n, size = len(dataset), batch_size or self.config.batch_size
        return self.loader(dataset, [list(range(i, min(i + size, n))) for i in range(0, n, size)])

    def _improved(self, score: float, best: float | None) -> bool:
        if math.isnan(score):
            return False
        return best is None or (score > best if self.maximise else score < best)

    # -- checkpoints ---------------------------------------------------------------------

    def _state(self, **position: Any) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "model": self.model.state_dict(),
            "optimiser": self.optimiser.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "average": None if self.average is None else self.average.state_dict(),
            "rng": checkpoint.rng_state(),
            **position,
        }

    def _restore(self) -> dict[str, Any]:
        state = checkpoint.load(self.ctx.checkpoint_dir / checkpoint.LAST)
        fresh = {
            "epoch": 0,
            "step": 0,
            "loss_sum": 0.0,
            "loss_count": 0,
            "best_score": None,
            "best_epoch": -1,
            "bad_epochs": 0,
            "history": [],
            "elapsed": 0.0,
            "done": False,
        }
        if state is None:
            return fresh
        if state["config"] != self.config.to_dict():
            raise ValueError("the checkpoint folder holds a run with a different config")
        self.model.load_state_dict(state["model"])
        self.optimiser.load_state_dict(state["optimiser"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        if self.average is not None:
            self.average.load_state_dict(state["average"])
        checkpoint.set_rng_state(state["rng"])
        self.ctx.logger.info(
            "resuming %s at epoch %d step %d", self.stage, state["epoch"], state["step"]
        )
        return {k: state[k] for k in fresh}

    def load_best(self) -> None:
        """Put the weights of the best validation epoch (averaged or not) into the model."""
        best = checkpoint.load(self.ctx.checkpoint_dir / checkpoint.BEST)
        if best is not None:
            self.model.load_state_dict(best["model"])

    # -- the loop ------------------------------------------------------------------------

    def fit(self) -> FitResult:
        """Train until ``epochs``, early stopping or cancellation; resume if a checkpoint exists."""
        pos = self._restore()
        cfg, ctx = self.config, self.ctx
        started = time.perf_counter() - pos["elapsed"]
        while not pos["done"] and pos["epoch"] < cfg.epochs:
            epoch = pos["epoch"]
            self.train_set.set_epoch(epoch)
            batches = epoch_batches(len(self.train_set), cfg.batch_size, cfg.seed, epoch)
            self.start_epoch(epoch)
            self.model.train()
            for step, batch in enumerate(
                self.loader(self.train_set, batches[pos["step"] :]), pos["step"]
            ):
                if ctx.should_stop():
                    pos.update(step=step, elapsed=time.perf_counter() - started)
                    checkpoint.save(ctx.checkpoint_dir / checkpoint.LAST, self._state(**pos))
                    ctx.logger.info("stopped at epoch %d step %d; checkpoint saved", epoch, step)
                    return self._result(pos, stopped=True)
                loss = self._train_step(self.to_device(batch))
                pos["loss_sum"] += loss
                pos["loss_count"] += 1
                if step % PROGRESS_EVERY_STEPS == 0:
                    ctx.progress((epoch + step / len(batches)) / cfg.epochs, f"epoch {epoch + 1}")
            self._end_epoch(pos)
            pos["elapsed"] = time.perf_counter() - started
            checkpoint.save(ctx.checkpoint_dir / checkpoint.LAST, self._state(**pos))
        return self._result(pos, stopped=False)

    def _train_step(self, batch: Batch) -> float:
        self.optimiser.zero_grad(set_to_none=True)
        with self.autocast():
            loss = self.training_step(batch)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimiser)
        self.scaler.update()
        if self.average is not None:
            self.average.update_parameters(self.model)
        return float(loss.detach())

    def _end_epoch(self, pos: dict[str, Any]) -> None:
        """Validate, update scheduler and early stopping, report, and move to the next epoch."""
        epoch, ctx, model = pos["epoch"], self.ctx, self.evaluated
        model.eval()
        with torch.no_grad(), self.autocast():
            scores = self.validation_scores(model, self.ordered_loader(self.val_set))
        score = scores[self.monitor]
        patient = epoch >= self.warm_up_epochs
        if patient:
            self.scheduler.step(score)
        if self._improved(score, pos["best_score"]):
            pos.update(best_score=score, best_epoch=epoch, bad_epochs=0)
            checkpoint.save(ctx.checkpoint_dir / checkpoint.BEST, {"model": model.state_dict()})
        elif patient:
            pos["bad_epochs"] += 1
        point = {
            "epoch": epoch,
            "train_loss": pos["loss_sum"] / max(pos["loss_count"], 1),
            **scores,
            "lr": self.optimiser.param_groups[0]["lr"],
        }
        pos["history"].append(point)
        for name in ("train_loss", *scores):
            ctx.metric(name, point[name], epoch)
        ctx.progress(
            (epoch + 1) / self.config.epochs,
            f"epoch {epoch + 1}/{self.config.epochs}: "
            + ", ".join(f"{k} {v:.4f}" for k, v in point.items() if k != "epoch"),
        )
        pos.update(epoch=epoch + 1, step=0, loss_sum=0.0, loss_count=0)
        pos["done"] = pos["bad_epochs"] >= self.config.patience
        if pos["done"]:
            ctx.logger.info("early stopping after epoch %d (best %d)", epoch, pos["best_epoch"])

    def _result(self, pos: dict[str, Any], *, stopped: bool) -> FitResult:
        return FitResult(
            stopped=stopped,
            epochs_run=pos["epoch"],
            best_epoch=pos["best_epoch"],
            best_score=pos["best_score"],
            history=pos["history"],
            train_time_s=pos["elapsed"],
        )
