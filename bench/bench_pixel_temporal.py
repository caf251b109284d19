"""Per-pixel classifiers of the benchmark: what tells tubers / roots from sunflower and soy.

At the issue's scale U-BARN takes tubers / roots for sunflower and soy, which OSO's forest
tells apart (``bench/README.md``). Those three summer crops differ only by when they are
sown and harvested, which each pixel's own dates say; U-BARN adds two things to a
per-pixel temporal classifier, its spectro-spatial encoder and its training on crops of a
few patches. This bench takes both away: on the forest's own class-balanced pixel sample
(at most ``--per-class`` pixels of each class from the labelled training patches), it fits

- OSO's forest on its gap-filled features (the baseline, as ``bench_experiment.py`` fits it);
- the same forest on the raw normalised series, clouds read as they are, no gap-filling;
- U-BARN's temporal part alone ("U-BARN without space"): each date's bands embedded by a
  linear layer in place of the SSE, then U-BARN's date code, temporal transformer,
  master-query pooling and classifier, at the tiny and paper sizes, reading every date or
  each pixel's clear dates only;

with the labels of the first of ``--fractions`` (default 1.0), and scores each on every
labelled pixel of the test patches, on the true labels, with the F1 of the three summer
crops and how many tubers / roots pixels are taken for sunflower.

    .venv/bin/python bench/bench_pixel_temporal.py --keep DIR [bench_experiment.py's options]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from bench_experiment import build_parser, parse_args, reference_snapshot, synthetic_snapshot
from torch import nn

from ml.data.dataset import ClassMapping, days_since, label_subset
from ml.data.normalise import BandStats, compute_band_stats
from ml.data.snapshot import SnapshotPatch, TrainingSet
from ml.data.store import read_label, read_patch
from ml.gapfill import common_grid
from ml.metrics import evaluation_report
from ml.models.ubarn import MODEL_SIZES, UBarnConfig, UBarnEncoder
from ml.models.ubarn_heads import MasterQueryPooling
from ml.rf_features import features
from ml.rf_model import fit, sample_pixels
from ml.rf_predictor import block_pixels
from ml.rf_train import DEFAULTS as RF_DEFAULTS

TUBERS, SUNFLOWER, SOY = 12, 9, 8
PREDICT_BATCH = 8192
COLUMNS = ("classifier", "OA", "mF1", "F1 tubers", "F1 sunflower", "F1 soy",
           "tubers → sunflower", "fit s")  # fmt: skip
FORESTS = {"oso-forest": "OSO forest, gap-filled features",
           "raw-forest": "forest, raw series (clouds read)"}  # fmt: skip


@dataclass
class Pixels:
    """Pixels of several patches: OSO features, normalised series, clear flags, dates, codes."""

    oso: np.ndarray  # (N, F) gap-filled features
    series: np.ndarray  # (N, T, C) normalised reflectances
    clear: np.ndarray  # (N, T) bool
    days: np.ndarray  # (N, T) days since 1 January
    codes: np.ndarray  # (N,) nomenclature codes


def patch_pixels(
    patch: SnapshotPatch, keep: np.ndarray, codes: np.ndarray, stats: BandStats, grid: np.ndarray
) -> Pixels:
    """The pixels ``keep`` (row-major indices) of one patch, with their ``codes``."""
    data = read_patch(patch.dir)
    bands = list(stats.bands)
    raw, clear = block_pixels(data.series, data.clouds, data.bands, bands)
    raw, clear = raw[keep], clear[keep]
    days = days_since(data.dates, None)
    return Pixels(
        oso=features(raw, data.dates, bands, valid=clear, grid=grid),
        series=stats.apply(raw[..., None, None])[..., 0, 0],
        clear=clear,
        days=np.broadcast_to(days, clear.shape),
        codes=codes,
    )


def gather(
    patches: list[SnapshotPatch],
    labels: list[Path],
    choose: Callable[[str, np.ndarray], np.ndarray],
    stats: BandStats,
    grid: np.ndarray,
) -> Pixels:
    """Pixels of ``patches`` (codes read from ``labels``), the row-major mask
    ``choose(patch id, codes)`` of each."""
    parts = []
    for patch, label in zip(patches, labels, strict=True):
        codes = read_label(label).reshape(-1)
        keep = np.flatnonzero(choose(patch.id, codes))
        parts.append(patch_pixels(patch, keep, codes[keep], stats, grid))
    return Pixels(*(np.concatenate([getattr(p, k) for p in parts]) for k in Pixels.__annotations__))


def balanced_sample(
    patches: list[SnapshotPatch], lookup: np.ndarray, per_class: int | None, seed: int
) -> dict[str, np.ndarray]:
    """The forest's sample: at most ``per_class`` labelled pixels of each class, as a
    row-major mask per patch id."""
    labels = [read_label(p.label).reshape(-1) for p in patches]
    every = np.concatenate(labels)
    labelled = np.flatnonzero(lookup[every] >= 0)
    picked = np.zeros(every.size, bool)
    picked[labelled[sample_pixels(every[labelled], per_class, seed=seed)]] = True
    ends = np.cumsum([v.size for v in labels])
    return {p.id: part for p, part in zip(patches, np.split(picked, ends[:-1]), strict=True)}


class PixelUBarn(nn.Module):
    """U-BARN without space: a linear per-date embedding in place of the SSE, then U-BARN's
    date code, temporal transformer, master-query pooling and linear classifier."""

    def __init__(self, config: UBarnConfig, n_classes: int) -> None:
        super().__init__()
        self.embed = nn.Linear(config.in_channels, config.d_model)
        self.encoder = UBarnEncoder(config)
        self.encoder.sse = nn.Identity()  # replaced by ``embed``: one pixel has no space
        self.pooling = MasterQueryPooling(config.d_model, config.head_heads, config.head_d_k)
        self.classifier = nn.Linear(config.d_model, n_classes)

    def forward(self, x: torch.Tensor, days: torch.Tensor, clear: torch.Tensor) -> torch.Tensor:
        """(N, T, C) series, (N, T) days and clear flags → (N, K) logits."""
        pad = torch.zeros_like(clear)
        clear = clear[..., None, None]
        z = self.encoder.contextualise(self.embed(x)[..., None, None], days, pad, clear)
        keys = self.encoder.key_padding(pad, clear, 1, 1)
        return self.classifier(self.pooling(z[..., 0, 0], keys))


def train_pixel_ubarn(
    config: UBarnConfig, train: Pixels, y: np.ndarray, n_classes: int, steps: int, seed: int
) -> PixelUBarn:
    """Adam 1e-3 with a cosine decay, batches of 256 pixels drawn from the balanced sample."""
    torch.manual_seed(seed)
    model = PixelUBarn(config, n_classes)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    x, days = torch.from_numpy(train.series), torch.from_numpy(np.ascontiguousarray(train.days))
    clear, target = torch.from_numpy(train.clear), torch.from_numpy(y)
    draw = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        batch = torch.randint(len(y), (256,), generator=draw)
        loss = F.cross_entropy(model(x[batch], days[batch], clear[batch]), target[batch])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
    return model.eval()


@torch.no_grad()
def predict_pixel_ubarn(model: PixelUBarn, pixels: Pixels) -> np.ndarray:
    """Class indices of every pixel, in batches."""
    days = np.ascontiguousarray(pixels.days)
    out = []
    for i in range(0, len(pixels.codes), PREDICT_BATCH):
        part = slice(i, i + PREDICT_BATCH)
        logits = model(
            torch.from_numpy(pixels.series[part]),
            torch.from_numpy(days[part]),
            torch.from_numpy(pixels.clear[part]),
        )
        out.append(logits.argmax(1).numpy())
    return np.concatenate(out)


def summary_row(
    name: str, codes: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, seconds: float
) -> str:
    """A markdown row: OA, mF1, the summer crops' F1 and tubers taken for sunflower."""
    report = evaluation_report(y_true, y_pred, codes)
    f1 = {int(code): entry["f1"] for code, entry in report["per_class"].items()}
    taken = int(((y_true == TUBERS) & (y_pred == SUNFLOWER)).sum())
    crops = " | ".join(f"{100 * f1[c]:.1f}" for c in (TUBERS, SUNFLOWER, SOY))
    return (
        f"| {name} | {100 * report['oa']:.1f} | {100 * report['mean_f1']:.1f} | {crops} | "
        f"{taken:,} of {int((y_true == TUBERS).sum()):,} | {seconds:.0f} |"
    )


def fit_classifier(
    name: str,
    train: Pixels,
    test: Pixels,
    lookup: np.ndarray,
    codes: np.ndarray,
    args: argparse.Namespace,
) -> str:
    """Fit one classifier (a ``FORESTS`` key, or a U-BARN size with an optional "-clear")
    on the training pixels and return its row on the test pixels."""
    seed, (_, t, c) = args.train_seeds[0], train.series.shape
    start = time.perf_counter()
    if name in FORESTS:
        oso = name == "oso-forest"
        x_train, x_test = (
            (p.oso if oso else p.series.reshape(len(p.codes), t * c)) for p in (train, test)
        )
        forest = fit(x_train, train.codes, random_state=seed)
        seconds = time.perf_counter() - start
        return summary_row(FORESTS[name], codes, test.codes, forest.predict(x_test), seconds)
    size, _, clear_only = name.partition("-")
    config = replace(MODEL_SIZES[size], in_channels=c, mask_clouds=bool(clear_only))
    model = train_pixel_ubarn(config, train, lookup[train.codes], len(codes), args.steps, seed)
    seconds = time.perf_counter() - start
    title = f"U-BARN without space, {size}, {'clear dates only' if clear_only else 'every date'}"
    return summary_row(title, codes, test.codes, codes[predict_pixel_ubarn(model, test)], seconds)


def main() -> None:
    parser = build_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--per-class", type=int, default=10_000,
        help="training pixels per class (0: every labelled pixel, classes at their frequency)",
    )  # fmt: skip
    parser.add_argument("--steps", type=int, default=8_000, help="U-BARN training steps")
    parser.add_argument(
        "--classifiers", default="oso-forest,raw-forest,tiny,tiny-clear,paper",
        help=f"some of {', '.join(FORESTS)} and U-BARN sizes ({', '.join(MODEL_SIZES)}), "
        "each with '-clear' to read clear dates only",
    )  # fmt: skip
    parser.set_defaults(fractions="1.0")
    args = parse_args(parser)
    args.classifiers = [name for name in args.classifiers.split(",") if name]
    known = {*FORESTS, *MODEL_SIZES, *(f"{size}-clear" for size in MODEL_SIZES)}
    if unknown := sorted(set(args.classifiers) - known):
        parser.error(f"--classifiers: unknown {unknown}; known: {sorted(known)}")
    torch.set_num_threads(args.threads or torch.get_num_threads())
    seed = args.train_seeds[0]
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = synthetic_snapshot((args.keep or Path(tmp)) / "data", args)
        training_set = TrainingSet.load(snapshot)
        truth = TrainingSet.load(reference_snapshot(snapshot) or snapshot)
        classes = ClassMapping.from_nomenclature(training_set.nomenclature)
        lookup, codes = classes.lookup(), np.asarray(classes.codes)
        train = label_subset(training_set.split("train"), args.fractions[0], seed)
        stats = compute_band_stats([p.dir for p in train], training_set.bands, seed=seed)
        grid = common_grid([read_patch(p.dir).dates for p in train], RF_DEFAULTS["grid_step"])
        masks = balanced_sample(train, lookup, args.per_class or None, seed)
        start = time.perf_counter()
        train_px = gather(train, [p.label for p in train], lambda pid, _: masks[pid], stats, grid)
        test = training_set.split("test")
        test_px = gather(
            test, [p.label for p in truth.split("test")], lambda _, c: lookup[c] >= 0, stats, grid
        )
        seconds = time.perf_counter() - start
        print(f"{len(train_px.codes):,} training pixels of {len(train)} patches, "
              f"{len(test_px.codes):,} test pixels of {len(test)} patches "
              f"(true labels), read in {seconds:.0f} s", flush=True)  # fmt: skip
        print(f"\n| {' | '.join(COLUMNS)} |\n|{'---|' * len(COLUMNS)}", flush=True)
        for name in args.classifiers:
            print(fit_classifier(name, train_px, test_px, lookup, codes, args), flush=True)


if __name__ == "__main__":
    main()
