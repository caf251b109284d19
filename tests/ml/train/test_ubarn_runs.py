"""U-BARN runs through their public entry points, on a tiny synthetic snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.data.class_sampling import patch_class_counts
from ml.data.dataset import ClassMapping
from ml.data.snapshot import TrainingSet, make_training_set
from ml.data.store import read_label, read_patch
from ml.models.registry import load_predictor
from ml.models.ubarn import MODEL_SIZES
from ml.models.ubarn_heads import SegmentationModel
from ml.train import finetune, pretrain
from ml.train.logit_adjustment import TAUS, ClassPriors

pytestmark = pytest.mark.slow


def _weights(out_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(out_dir / "model.pt", weights_only=True)


def _optimiser_groups(checkpoint_dir: Path) -> list[tuple[float, int]]:
    """(learning rate, number of parameter tensors) of each group of the last checkpoint."""
    state = torch.load(checkpoint_dir / "last.pt", weights_only=False)
    return [(g["lr"], len(g["params"])) for g in state["optimiser"]["param_groups"]]


def _tensor_counts(n_classes: int) -> tuple[int, int]:
    """Parameter tensors of the tiny encoder and of its segmentation head."""
    model = SegmentationModel(MODEL_SIZES["tiny"], n_classes)
    head = [*model.pooling.parameters(), *model.classifier.parameters()]
    return len(list(model.encoder.parameters())), len(head)


def test_pretraining_writes_a_reusable_run(pretrained_run: Path) -> None:
    run = json.loads((pretrained_run / "run.json").read_text())
    assert run["kind"] == "ubarn" and run["stage"] == "pretrain"
    assert run["config"]["model"] == "tiny" and run["network"]["d_model"] == 32
    assert len(run["normalisation"]["median"]) == 10
    results = json.loads((pretrained_run / "results.json").read_text())
    assert results["test_loss"] > 0 and results["epochs_run"] == 2
    curves = json.loads((pretrained_run / "learning_curves.json").read_text())
    assert [p["epoch"] for p in curves] == [0, 1]
    assert any(k.startswith("reconstruction.") for k in _weights(pretrained_run))
    with pytest.raises(ValueError, match="not finetune"):
        load_predictor(pretrained_run)  # a pre-training run has no classifier


def test_a_pretraining_also_learns_from_a_corpus_of_other_scenes(
    snapshot: Path, pretrained_run: Path, make_context, tiny_run: dict, tmp_path: Path
) -> None:
    """Its patches join the train split: more training images, their statistics in the
    normalisation, the same val split; a corpus of other bands is refused up front."""
    corpus = make_training_set(tmp_path / "other", n_patches=6, size=16, n_dates=6, seed=1)
    ctx = make_context("corpus")
    results = pretrain.run(ctx, snapshot=snapshot, config={**tiny_run, "corpus": [str(corpus)]})
    alone = json.loads((pretrained_run / "results.json").read_text())
    assert (alone["train_patches"], results["train_patches"]) == (3, 3 + 6)
    run, run_alone = (
        json.loads((d / "run.json").read_text()) for d in (ctx.out_dir, pretrained_run)
    )
    assert run["corpus"] == [{"snapshot": "synthetic-s1", "patches": 6}]
    assert run_alone["corpus"] == []
    assert run["normalisation"]["median"] != run_alone["normalisation"]["median"]
    assert "corpus" not in run["config"]

    other_bands = TrainingSet.load(corpus)
    other_bands.bands = other_bands.bands[::-1]
    other_bands.save(tmp_path / "other-bands.json")
    refused = make_context("refused")
    with pytest.raises(ValueError, match="has bands"):
        config = {**tiny_run, "corpus": [str(tmp_path / "other-bands.json")]}
        pretrain.run(refused, snapshot=snapshot, config=config)
    assert not any(refused.out_dir.iterdir()) and not any(refused.checkpoint_dir.iterdir())


def test_full_tiny_pretrain_and_finetune(
    snapshot: Path, pretrained_run: Path, make_context, tiny_run: dict
) -> None:
    ctx = make_context("ft")
    config = {
        **tiny_run,
        "regime": "finetune",
        "pretrained": str(pretrained_run),
        "crop_balance": 1.0,
        "head_lr": 1e-2,
    }
    results = finetune.run(ctx, snapshot=snapshot, config=config)

    training_set = TrainingSet.load(snapshot)
    codes = sorted(training_set.nomenclature.valid_codes)
    encoder, head = _tensor_counts(len(codes))
    assert _optimiser_groups(ctx.checkpoint_dir) == [(1e-3, encoder), (1e-2, head)]
    assert results["labels"] == codes and not results["stopped"]
    for key in ("oa", "kappa", "mean_f1", "miou", "per_class", "confusion"):
        assert key in results
    names = [name for name, _, _ in ctx.metrics]
    assert names.count("train_loss") == names.count("val_mF1") == 2
    assert ctx.progress_events[-1][0] == 1.0
    # the minutes after the last epoch say what runs: the adjustment, the test, then done
    after_training = [m.split(" ")[0] for f, m in ctx.progress_events if f == 1.0]
    assert after_training[-3:] == ["choosing", "scoring", "done:"]
    for name in (
        "run.json",
        "model.pt",
        "results.json",
        "predictions.npz",
        "learning_curves.png",
        "confusion.png",
        "f1.png",
    ):
        assert (ctx.out_dir / name).is_file(), name

    # the logit adjustment: the crops' class frequencies traded for the patches' at a
    # strength chosen on validation (or none), saved for the maps
    run = json.loads((ctx.out_dir / "run.json").read_text())
    adjustment = results["logit_adjustment"]
    assert set(adjustment["val_mF1_by_tau"]) == {str(t) for t in TAUS}
    scores = [adjustment["val_mF1_unadjusted"], *adjustment["val_mF1_by_tau"].values()]
    classes = ClassMapping.from_nomenclature(training_set.nomenclature)
    counts = patch_class_counts(training_set.split("train"), classes.lookup()).sum(0)
    assert adjustment["patch_class_pixels"] == counts.tolist()
    seen = np.array(adjustment["crop_class_pixels"])
    crops = (results["best_epoch"] + 1) * len(training_set.split("train"))
    assert seen.sum() == crops * 16 * 16  # the crops of the best epoch's weights, all labelled
    if adjustment["tau"] is None:
        assert run["logit_bias"] is None and scores[0] == max(scores)
    else:
        assert adjustment["val_mF1_by_tau"][str(adjustment["tau"])] == max(scores) > scores[0]
        expected = ClassPriors(seen, counts).bias(adjustment["tau"])
        np.testing.assert_allclose(run["logit_bias"], expected, atol=1e-6)

    # predictions: every non-ignored test pixel, test patches in order, row-major
    predictions = np.load(ctx.out_dir / "predictions.npz")
    ignore = list(training_set.nomenclature.ignore_codes)
    references = [read_label(p.label) for p in training_set.split("test")]
    expected = np.concatenate([r[~np.isin(r, ignore)] for r in references])
    np.testing.assert_array_equal(predictions["y_true"], expected)
    assert set(np.unique(predictions["y_pred"])) <= set(codes)
    assert results["n_pixels"] == expected.size

    # the map predictor reproduces the run's own test predictions
    predictor = load_predictor(ctx.out_dir, device="cpu")
    assert predictor.classes == codes and predictor.window == 64 and predictor.halo == 4
    first = training_set.split("test")[0]
    data = read_patch(first.dir)
    proba = predictor.predict_proba(data.series, data.clouds, data.dates, data.bands)
    assert proba.shape == (len(codes), *data.series.shape[2:]) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(0), 1.0, atol=1e-5)
    keep = ~np.isin(references[0], ignore)
    predicted = np.asarray(codes)[proba.argmax(0)][keep]
    np.testing.assert_array_equal(predicted, predictions["y_pred"][: keep.sum()])


def test_a_run_that_masks_clouds_is_mapped_as_it_was_scored(
    snapshot: Path, make_context, tiny_run: dict
) -> None:
    """Scoring reads the dataset's clear mask, the map predictor its own from the clouds."""
    ctx = make_context("masking")
    results = finetune.run(ctx, snapshot=snapshot, config={**tiny_run, "mask_clouds": True})
    run = json.loads((ctx.out_dir / "run.json").read_text())
    assert run["network"]["mask_clouds"] and run["config"]["mask_clouds"]

    training_set = TrainingSet.load(snapshot)
    first = training_set.split("test")[0]
    data = read_patch(first.dir)
    assert (data.clouds != 0).any()  # the patch has clouds for the mask to skip
    predictor = load_predictor(ctx.out_dir, device="cpu")
    proba = predictor.predict_proba(data.series, data.clouds, data.dates, data.bands)
    reference = read_label(first.label)
    keep = ~np.isin(reference, list(training_set.nomenclature.ignore_codes))
    predicted = np.asarray(results["labels"])[proba.argmax(0)][keep]
    predictions = np.load(ctx.out_dir / "predictions.npz")
    np.testing.assert_array_equal(predicted, predictions["y_pred"][: keep.sum()])


def test_frozen_regime_keeps_the_pretrained_encoder(
    snapshot: Path, pretrained_run: Path, make_context, tiny_run: dict
) -> None:
    ctx = make_context("fr")
    config = {
        **tiny_run,
        "epochs": 1,
        "regime": "frozen",
        "pretrained": str(pretrained_run),
        "label_fraction": 0.5,
        "head_lr": 5e-2,
        "logit_adjustment": False,
    }
    finetune.run(ctx, snapshot=snapshot, config=config)
    n_classes = len(TrainingSet.load(snapshot).nomenclature.valid_codes)
    assert _optimiser_groups(ctx.checkpoint_dir) == [(5e-2, _tensor_counts(n_classes)[1])]
    pretrained, tuned = _weights(pretrained_run), _weights(ctx.out_dir)
    encoder_keys = [k for k in pretrained if k.startswith("encoder.")]
    assert encoder_keys
    for key in encoder_keys:
        assert torch.equal(pretrained[key], tuned[key]), key
    run = json.loads((ctx.out_dir / "run.json").read_text())
    assert len(run["train_patches"]) == 2  # half of the 3 training patches, rounded
    assert run["logit_bias"] is None  # switched off: the network's own decisions
    assert (
        run["normalisation"]
        == json.loads((pretrained_run / "run.json").read_text())["normalisation"]
    )


def test_head_warm_up_fine_tunes_the_encoder_only_after_it(
    snapshot: Path, pretrained_run: Path, make_context, tiny_run: dict
) -> None:
    """LP-FT: through the warm-up epoch the encoder (weights and BatchNorm statistics) stays
    the pre-trained one, then it trains (resuming across the boundary: test_ubarn_resume)."""
    config = {
        **tiny_run,
        "regime": "finetune",
        "pretrained": str(pretrained_run),
        "head_warmup_epochs": 1,
    }
    # 3 training patches, batch 2: two steps per epoch; stop before epoch 1's first step
    ctx = make_context("warm", stop_after=2)
    assert finetune.run(ctx, snapshot=snapshot, config=config)["stopped"] is True
    after_warm_up = torch.load(ctx.checkpoint_dir / "last.pt", weights_only=False)
    assert (after_warm_up["epoch"], after_warm_up["step"]) == (1, 0)
    pretrained = _weights(pretrained_run)
    encoder_keys = [k for k in pretrained if k.startswith("encoder.")]
    for key in encoder_keys:
        assert torch.equal(pretrained[key], after_warm_up["model"][key]), key
    assert finetune.run(make_context("warm"), snapshot=snapshot, config=config)["stopped"] is False
    last = torch.load(ctx.checkpoint_dir / "last.pt", weights_only=False)["model"]
    assert any(not torch.equal(pretrained[k], last[k]) for k in encoder_keys)


def test_a_head_warm_up_neither_stops_early_nor_lowers_the_learning_rate(
    snapshot: Path, pretrained_run: Path, make_context, tiny_run: dict
) -> None:
    """A head too slow to change the score plateaus through the warm-up: with patiences of
    0 and 1 epoch, the run would stop and halve the encoder's rate before it ever trained."""
    config = {
        **tiny_run,
        "epochs": 4,
        "regime": "finetune",
        "pretrained": str(pretrained_run),
        "head_warmup_epochs": 2,
        "head_lr": 1e-12,
        "patience": 1,
        "lr_patience": 0,
    }
    ctx = make_context("plateau")
    results = finetune.run(ctx, snapshot=snapshot, config=config)
    curves = json.loads((ctx.out_dir / "learning_curves.json").read_text())
    assert curves[0]["val_mF1"] == curves[1]["val_mF1"], "the warm-up plateaus"
    assert results["epochs_run"] >= 3
    assert [p["lr"] for p in curves[:3]] == [1e-3, 1e-3, 1e-3]


def test_cancellation_saves_a_checkpoint_and_writes_no_run(
    snapshot: Path, make_context, tiny_run: dict
) -> None:
    ctx = make_context("cancel")
    ctx.stop_event.set()
    result = pretrain.run(ctx, snapshot=snapshot, config=tiny_run)
    assert result["stopped"] is True
    assert (ctx.checkpoint_dir / "last.pt").is_file()
    assert not (ctx.out_dir / "run.json").exists()


def test_early_stopping_ends_the_run_once_the_score_stalls(
    snapshot: Path, pretrained_run: Path, make_context, tiny_run: dict
) -> None:
    ctx = make_context("early")
    config = {
        **tiny_run,
        "epochs": 6,
        "patience": 1,
        "lr": 1e-12,
        "regime": "frozen",
        "pretrained": str(pretrained_run),
    }
    results = finetune.run(ctx, snapshot=snapshot, config=config)
    scores = [p["val_mF1"] for p in json.loads((ctx.out_dir / "learning_curves.json").read_text())]
    # the run stops after the first epoch that does not beat the best score so far
    stalls = [e for e in range(1, len(scores)) if scores[e] <= max(scores[:e])]
    assert results["epochs_run"] == len(scores) == stalls[0] + 1 < 6
    assert results["best_epoch"] == int(np.argmax(scores[: stalls[0]]))
