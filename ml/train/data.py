"""From a training-set snapshot to the datasets of a U-BARN run.

Normalisation statistics come from the training split only (or, when fine-tuning a
pre-trained encoder, from the pre-training run, so the encoder sees inputs scaled as it
learnt them); they are cached in the checkpoint folder so that a resumed run does not
re-read the store. Every series is padded to the longest one of the snapshot unless the
config caps it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ml.context import JobContext
from ml.data.class_sampling import ClassCentredCrops
from ml.data.dataset import Augmentation, ClassMapping, SitsDataset
from ml.data.normalise import BandStats, compute_band_stats
from ml.data.snapshot import SnapshotPatch, TrainingSet
from ml.data.store import read_patch
from ml.train.config import TrainConfig

STATS_FILE = "normalisation.json"


def load_training_set(snapshot: Path, needs: Sequence[str]) -> TrainingSet:
    """The snapshot, refusing one without patches in the splits the run ``needs``."""
    snapshot = Path(snapshot)
    if not snapshot.is_file():
        raise FileNotFoundError(f"training-set snapshot not found: {snapshot.name}")
    training_set = TrainingSet.load(snapshot)
    empty = [name for name in needs if not training_set.split(name)]
    if empty:
        raise ValueError(f"the snapshot has no patch in split(s) {empty}")
    return training_set


def band_stats(
    ctx: JobContext, training_set: TrainingSet, config: TrainConfig, pretrained: dict | None
) -> BandStats:
    """The run's normalisation: the pre-trained run's, cached, or computed on the train split."""
    if pretrained is not None:
        stats = BandStats.from_dict(pretrained["normalisation"])
        if list(stats.bands) != list(training_set.bands):
            raise ValueError(
                f"the pretrained run used bands {list(stats.bands)}, "
                f"the snapshot has {list(training_set.bands)}"
            )
        return stats
    cache = ctx.checkpoint_dir / STATS_FILE
    if cache.is_file():
        return BandStats.from_dict(json.loads(cache.read_text()))
    train_dirs = [p.dir for p in training_set.split("train")]
    stats = compute_band_stats(train_dirs, training_set.bands, seed=config.seed)
    cache.write_text(json.dumps(stats.to_dict()))
    return stats


def survey(training_set: TrainingSet, config: TrainConfig) -> int:
    """Check the patches fit the run and return the number of dates to pad series to.

    Only the patches' metadata and memory maps are opened. Done before anything is
    written, so a crop larger than a patch is refused up front rather than mid-epoch.

    Raises:
        ValueError: ``patch_size`` or ``val_size`` is larger than a train or val patch.
    """
    longest, smallest = 0, None
    for patch in training_set.patches:
        data = read_patch(patch.dir)
        longest = max(longest, len(data.dates))
        if patch.split != "test":
            side = min(data.height, data.width)
            smallest = side if smallest is None else min(smallest, side)
    for name in ("patch_size", "val_size"):
        side = getattr(config, name)
        if smallest is not None and side is not None and side > smallest:
            raise ValueError(f"{name} {side} is larger than the smallest patch ({smallest})")
    return config.max_dates or longest


def make_datasets(
    training_set: TrainingSet,
    train_patches: Sequence[SnapshotPatch],
    config: TrainConfig,
    stats: BandStats,
    classes: ClassMapping | None,
    *,
    max_dates: int,
    whole_test: bool,
    class_crops: ClassCentredCrops | None = None,
) -> tuple[SitsDataset, SitsDataset, SitsDataset]:
    """Train (augmented random crops), val (centred crops) and test sets.

    An epoch draws ``epoch_crops`` training crops from ``train_patches`` (by default as
    many as the train split has patches, so a label subset trains as many steps per
    epoch as the full set). The test set serves whole patches when ``whole_test`` (every
    labelled pixel is evaluated, in the canonical order shared with the Random Forest),
    else centred crops. ``class_crops`` (built on ``train_patches``) places the training
    crops around pixels of the classes it draws.
    """
    common = _dataset_options(config, stats, classes, max_dates)
    augmentation = Augmentation(
        random_crop=True, flips=config.flips, min_date_fraction=config.min_date_fraction
    )
    train = SitsDataset(
        train_patches,
        patch_size=config.patch_size,
        augmentation=augmentation,
        epoch_size=config.epoch_crops or len(training_set.split("train")),
        class_crops=class_crops,
        **common,
    )
    val_size = config.val_size or config.patch_size
    val = SitsDataset(training_set.split("val"), patch_size=val_size, **common)
    test_size = None if whole_test else config.patch_size
    test = SitsDataset(training_set.split("test"), patch_size=test_size, **common)
    return train, val, test


def _dataset_options(
    config: TrainConfig, stats: BandStats, classes: ClassMapping | None, max_dates: int
) -> dict[str, Any]:
    """What every dataset of a run shares: normalisation, classes, seed and date axis."""
    return {
        "stats": stats,
        "classes": classes,
        "seed": config.seed,
        "reference_date": config.reference,
        "max_dates": max_dates,
    }


def whole_patches(
    patches: Sequence[SnapshotPatch],
    config: TrainConfig,
    stats: BandStats,
    classes: ClassMapping | None,
    *,
    max_dates: int,
) -> SitsDataset:
    """Whole patches, not augmented: every labelled pixel is scored (the test split, and
    the validation split when choosing the logit adjustment)."""
    return SitsDataset(
        patches, patch_size=None, **_dataset_options(config, stats, classes, max_dates)
    )
