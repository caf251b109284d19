"""Land-cover segmentation with U-BARN: from scratch, frozen (FR) or fine-tuned (FT).

Dumeur, Valero, Inglada, IEEE JSTARS 17, 2024, Sec. IV: the encoder (random, or the
weights of a pre-training run) + master-query attention pooling + a linear classifier,
trained with cross-entropy on the labelled pixels (ignored codes left out), Adam,
ReduceLROnPlateau, and early stopping on the validation mean F1. Label scarcity is
simulated by keeping a seeded fraction of the training patches. Mean F1 weighs rare
classes as much as common ones, and the forest it is compared with samples pixels per
class; two settings rebalance the network's training too: class weights in the loss
(``class_balance``) and crops placed around pixels of classes drawn to show rare classes
more often (``crop_balance``, ``ml.data.class_sampling``); after training, the class prior
the network learned from its crops is traded for one between the patches' and a uniform
one, by a strength chosen on validation (``logit_adjustment``,
``ml.train.logit_adjustment``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ml.context import JobContext
from ml.data.class_sampling import ClassCentredCrops, patch_class_counts
from ml.data.dataset import ClassMapping, SitsDataset, label_subset
from ml.metrics import evaluation_report
from ml.models.ubarn import UBarnConfig
from ml.models.ubarn_heads import SegmentationModel
from ml.plots import plot_confusion, plot_f1_bars
from ml.train.artifacts import load_encoder_weights, read_run, stopped_result, write_json, write_run
from ml.train.base import Batch, Trainer
from ml.train.config import TrainConfig, resolve_config
from ml.train.data import band_stats, load_training_set, make_datasets, survey, whole_patches
from ml.train.evaluate import (
    ConfusionCounter,
    class_weights,
    predict_test,
    segmentation_loss,
)
from ml.train.logit_adjustment import ClassPriors, fit_logit_adjustment


class FinetuneTrainer(Trainer):
    """Segmentation training (monitors the validation mean F1).

    Args:
        encoder_weights: a pre-trained encoder's state dict (FR and FT regimes), or None.
        class_weight: per-class loss weights (``class_weights``), or None for plain
            cross-entropy.
    """

    stage = "finetune"
    monitor = "val_mF1"
    maximise = True

    def __init__(
        self,
        ctx: JobContext,
        config: TrainConfig,
        train_set: SitsDataset,
        val_set: SitsDataset,
        *,
        classes: ClassMapping,
        encoder_weights: dict[str, torch.Tensor] | None,
        class_weight: torch.Tensor | None = None,
    ) -> None:
        self.classes = classes
        self.encoder_weights = encoder_weights
        super().__init__(ctx, config, train_set, val_set)
        self.class_weight = None if class_weight is None else class_weight.to(self.device)

    def configure_model(self) -> SegmentationModel:
        """The segmentation network, its encoder loaded (and frozen) as the regime says."""
        model = SegmentationModel(
            self.config.network, len(self.classes.codes), frozen=self.config.regime == "frozen"
        )
        if self.encoder_weights is not None:
            model.encoder.load_state_dict(self.encoder_weights)
        return model

    def configure_optimiser(self) -> torch.optim.Optimizer:
        """Adam with ``lr`` for the encoder (when it trains) and ``head_lr`` for the head.

        The encoder's group comes first, so the history's "lr" is the encoder's when it trains.
        """
        head = [*self.model.pooling.parameters(), *self.model.classifier.parameters()]
        encoder = [p for p in self.model.encoder.parameters() if p.requires_grad]
        groups = [{"params": encoder, "lr": self.config.lr}] if encoder else []
        groups.append({"params": head, "lr": self.config.head_lr or self.config.lr})
        return torch.optim.Adam(groups)

    @property
    def warm_up_epochs(self) -> int:
        """The head's warm-up (LP-FT): the encoder has not trained yet."""
        return self.config.head_warmup_epochs

    def start_epoch(self, epoch: int) -> None:
        """Keep the pre-trained encoder frozen for the head's warm-up epochs (LP-FT)."""
        if self.config.head_warmup_epochs:
            self.model.freeze_encoder(epoch < self.config.head_warmup_epochs)

    def training_step(self, batch: Batch) -> torch.Tensor:
        """Cross-entropy of one batch of crops."""
        logits = self.model(batch["x"], batch["days"], batch["pad"], batch["clear"])
        return segmentation_loss(logits, batch["label"], self.class_weight)

    def validation_scores(self, model: nn.Module, loader: DataLoader) -> dict[str, float]:
        """{"val_loss": ..., "val_mF1": ...} of ``model`` over the centred validation crops."""
        confusion = ConfusionCounter(len(self.classes.codes))
        losses = []
        for batch in loader:
            batch = self.to_device(batch)
            logits = model(batch["x"], batch["days"], batch["pad"], batch["clear"])
            losses.append(float(segmentation_loss(logits, batch["label"], self.class_weight)))
            confusion.add(batch["label"], logits.argmax(1))
        return {
            "val_loss": sum(losses) / len(losses),
            "val_mF1": confusion.mean_f1(list(self.classes.codes)),
        }


NETWORK_SETTINGS = ("mask_clouds", "encoder_norm", "pixel_skip")
"""How a pre-trained encoder was built beyond its preset's sizes."""


def _pretrained(
    cfg: TrainConfig, asked: dict[str, Any]
) -> tuple[TrainConfig, dict[str, Any] | None, dict[str, torch.Tensor] | None]:
    """The validated config, run.json and encoder weights of the pre-training it names.

    A pre-trained encoder is fine-tuned as it was built: the network settings ``asked``
    (the caller's config) leaves unset are the pre-training's, whatever its preset's
    defaults are now (pre-trainings made before the tiny preset's BatchNorm keep their
    GroupNorm); those it sets must match.
    """
    if cfg.pretrained is None:
        return cfg, None, None
    run = read_run(Path(cfg.pretrained), stage="pretrain")
    network = UBarnConfig.from_dict(run["network"])
    cfg = replace(cfg, **{k: getattr(network, k) for k in NETWORK_SETTINGS if k not in asked})
    if network != cfg.network:
        wanted = cfg.network.to_dict()
        differ = [
            f"{name} {value!r} (the config's: {wanted[name]!r})"
            for name, value in network.to_dict().items()
            if value != wanted[name]
        ]
        raise ValueError(
            f"the pretrained run is a {run['config']['model']!r} model with "
            f"{', '.join(differ)}; the config asks for {cfg.model!r}"
        )
    return cfg, run, load_encoder_weights(Path(cfg.pretrained))


def run(ctx: JobContext, *, snapshot: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Train and evaluate a U-BARN segmentation run; write it into ``ctx.out_dir``.

    Writes run.json ({"kind": "ubarn", "stage": "finetune", config, network,
    normalisation, classes, ...}), model.pt, results.json (``ml.metrics.evaluation_report``
    on the test split + timings), predictions.npz (y_true, y_pred codes of the test pixels
    in canonical order), learning curves and plots. Resumes from ``ctx.checkpoint_dir``.

    Args:
        ctx: job context.
        snapshot: training-set snapshot JSON file.
        config: see ``ml.train.config.TrainConfig``; ``regime`` "frozen" and "finetune"
            need ``pretrained``, the out_dir of a pre-training run.

    Returns:
        The results dict, or {"status": "cancelled", "stopped": True, ...} when cancelled.
    """
    cfg, pretrained, encoder_weights = _pretrained(resolve_config(config, "finetune"), config)
    training_set = load_training_set(snapshot, ("train", "val", "test"))
    nomenclature = training_set.nomenclature
    classes = ClassMapping.from_nomenclature(nomenclature)
    labelled = label_subset(training_set.split("train"), cfg.label_fraction, cfg.seed)
    max_dates = survey(training_set, cfg)
    stats = band_stats(ctx, training_set, cfg, pretrained)
    patch_counts = patch_class_counts(labelled, classes.lookup())
    crops = ClassCentredCrops(patch_counts, cfg.crop_balance) if cfg.crop_balance else None
    train, val, test = make_datasets(
        training_set, labelled, cfg, stats, classes, max_dates=max_dates, whole_test=True,
        class_crops=crops,
    )  # fmt: skip
    trainer = FinetuneTrainer(
        ctx, cfg, train, val, classes=classes, encoder_weights=encoder_weights,
        class_weight=class_weights(patch_counts.sum(0), cfg.class_balance),
    )  # fmt: skip
    fit = trainer.fit()
    if fit.stopped:
        return stopped_result(fit)
    trainer.load_best()
    codes = list(classes.codes)
    adjustment = None
    if cfg.logit_adjustment:
        # Whole-patch passes take minutes on a CPU after the last epoch: say what is running.
        val_patches = training_set.split("val")
        ctx.progress(1.0, f"choosing the logit adjustment on {len(val_patches)} validation patches")
        # the best weights trained on the crops of epochs 0 … best_epoch
        seen = train.crop_class_counts(range(fit.best_epoch + 1))
        adjustment = fit_logit_adjustment(
            trainer.model,
            whole_patches(val_patches, cfg, stats, classes, max_dates=max_dates),
            ClassPriors(seen, patch_counts.sum(0)),
            codes,
            trainer.device,
            trainer.autocast,
        )
    saved_bias = None if adjustment is None else adjustment.bias
    bias = None if saved_bias is None else torch.from_numpy(saved_bias).to(trainer.device)
    ignore = sorted(int(c) for c in nomenclature.ignore_codes)
    ctx.progress(1.0, f"scoring the {len(test.patches)} test patches")
    y_true, y_pred, speed = predict_test(
        trainer.model, test, codes, ignore, trainer.device, trainer.autocast, bias
    )
    names = {c.code: c.name_en for c in nomenclature.classes}
    report = evaluation_report(y_true, y_pred, codes, names=names)
    results = {
        **report,
        "kind": "ubarn",
        "stage": "finetune",
        "regime": cfg.regime,
        "label_fraction": cfg.label_fraction,
        "best_val_mF1": fit.best_score,
        "best_epoch": fit.best_epoch,
        "epochs_run": fit.epochs_run,
        "fit_seconds": fit.train_time_s,
        "predict_pixels_per_second": speed,
        "logit_adjustment": None if adjustment is None else adjustment.summary(),
        "train_patches": [p.id for p in labelled],
        "test_patches": [p.id for p in test.patches],
        "snapshot": training_set.id,
        "stopped": False,
    }
    run_info = {
        "stage": "finetune",
        "config": cfg.to_dict(),
        "network": cfg.network.to_dict(),
        "bands": list(training_set.bands),
        "normalisation": stats.to_dict(),
        "classes": codes,
        "class_index": classes.to_dict(),
        "nomenclature": nomenclature.to_dict(),
        "snapshot": training_set.id,
        "max_dates": train.max_dates,
        "logit_bias": None if saved_bias is None else saved_bias.tolist(),
        "train_patches": [p.id for p in labelled],
        "pretrained_snapshot": pretrained["snapshot"] if pretrained else None,
    }
    out = ctx.out_dir
    title = f"U-BARN {cfg.regime}, {cfg.label_fraction:.0%} labels"
    write_run(out, run_info, trainer.model, fit, title)
    write_json(out / "results.json", results)
    np.savez_compressed(out / "predictions.npz", y_true=y_true, y_pred=y_pred)
    plot_confusion(report, out / "confusion.png", names=names, title=title)
    plot_f1_bars({"U-BARN": report}, out / "f1.png", names=names)
    ctx.progress(1.0, f"done: OA {report['oa']:.3f}, mF1 {report['mean_f1']:.3f}")
    return results
