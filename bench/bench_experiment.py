"""RF (OSO) vs U-BARN (scratch, frozen, fine-tuned) on the synthetic OSO benchmark.

The comparison of Dumeur, Valero, Inglada (IEEE JSTARS 17, 2024, Sec. IV) on sitslab's
synthetic OSO data (look-alike crops, clouds, label noise): one store + snapshot with a
spatially disjoint split (the generator's blocks), then, at each label fraction (whole
training patches kept), OSO's Random Forest, U-BARN from scratch, and U-BARN pre-trained
then frozen (FR) or fine-tuned (FT). Pre-training is self-supervised and label-free, so it
runs once, on the images of every train and test patch, plus ``--unlabelled-patches``
patches of a second scene (the val patches select its epoch), as the paper pre-trains on
an unlabelled corpus larger than the labelled one.
Every run is scored on the same test pixels (canonical order), twice: on the stored
labels (noisy, as trained on) and on the generator's true labels (``reference_snapshot``),
and the best U-BARN of each fraction is compared with the forest by McNemar's test.
``--regimes`` trains a subset of the U-BARN regimes (none: the forests alone, e.g. to see
what ``--missed-clouds`` or ``--urban-mosaic`` costs them). ``--train-seeds`` repeats the whole
comparison with other training seeds on the same scene: a seed draws the labelled patches
of a fraction (the same for the forest and U-BARN), the forest's pixel sample, U-BARN's
initial weights and crops, and its own pre-training; the report then adds the mean and
spread over seeds of every score and of the paired differences (U-BARN − RF, pre-training's
worth), since single runs of one recipe differ by as much as the effects measured. A
run of the scene's own seed keeps its plain name, so older work folders stay reusable.
Inference speed is measured with
each run's map ``Predictor`` on whole test patches (raw int16 in, probabilities out: the
forest's gap-filling and features, U-BARN's normalisation included).

A U-BARN epoch is ``--epoch-crops`` random crops drawn from the labelled patches, whatever
their number, so every run of the same ``--epochs`` gets the same gradient steps and the
patiences (early stopping, learning-rate decay) mean the same at 10 % and 100 % labels.
The forests train first, alone, on every core (OSO's ``n_jobs=-1``); then the U-BARN runs
train in ``--jobs`` processes of ``--threads`` torch threads each (pre-training and the
from-scratch runs at once, the frozen and fine-tuned runs as soon as pre-training ends);
inference speeds are measured last, one run at a time. With ``--keep DIR`` the work folder
is kept and the finished runs found in it are reused (refused if made with other settings),
so a long benchmark can be completed in several sittings, and on several machines:
``--ubarn-only`` trains the U-BARN runs and stops (a GPU lease, ``bench/gpu_check.sh``), and
the same command without it, on the CPU machine with those runs copied into its work
folder, trains the forests (identical anywhere: same data, same seed) and scores them all.

    .venv/bin/python bench/bench_experiment.py [--patches 400 --size 64 --dates 30]
        [--epochs 40 --pretrain-epochs 40 --fractions 0.1,1.0 --jobs 2 --threads 1]

The paper's protocol on a GPU: ``--model paper --crop 64 --val-crop 64 --batch-size 2
--epochs 120 --pretrain-epochs 120 --epoch-crops 400 --patience 20 --lr-patience 10
--jobs 1 --threads 0``.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ml.context import LocalContext
from ml.data.snapshot import TrainingSet, make_training_set, with_corpus
from ml.data.store import read_patch
from ml.experiment import RF_TITLE, SCRATCH_TITLE, seed_summary
from ml.metrics import mcnemar
from ml.models.registry import load_predictor
from ml.models.ubarn_sse import ENCODER_NORMS
from ml.train.config import TrainConfig

REGIMES = ("scratch", "frozen", "finetune")
DEFAULT_LR = TrainConfig.lr
DATA_KEYS = ("patches", "size", "dates", "seed", "noise_rate", "cloud_fraction",
             "missed_clouds", "urban_mosaic", "orbits", "phenology_shift",
             "stale_register", "unlabelled_patches")  # fmt: skip
DATA_KEYS_ADDED = {"orbits": 1, "phenology_shift": 0.0, "stale_register": 0.0}
"""Data keys added after work folders were kept, at the value those folders were made with."""


def generator_options(args: argparse.Namespace) -> dict:
    """The generator's realism settings, the same for the labelled and unlabelled scenes."""
    return {
        "noise_rate": args.noise_rate,
        "cloud_fraction": args.cloud_fraction,
        "missed_clouds": args.missed_clouds,
        "urban_mosaic": args.urban_mosaic,
        "orbits": args.orbits,
        "phenology_shift": args.phenology_shift,
        "stale_register": args.stale_register,
    }


def unlabelled_snapshot(snapshot: Path, extra: Path | None = None) -> Path:
    """A copy of the snapshot for pre-training: test patches (and ``extra``'s) in "train".

    Labels are never read by pre-training, so this only widens the unlabelled corpus; val
    stays val (epoch selection on the reconstruction loss). ``extra`` is the snapshot of
    another scene (other seed: other parcels, other acquisition calendar), the larger
    unlabelled corpus the paper pre-trains on.
    """
    training_set = TrainingSet.load(snapshot)
    patches = [
        replace(p, split="train" if p.split == "test" else p.split) for p in training_set.patches
    ]
    corpus = [] if extra is None else [TrainingSet.load(extra)]
    unlabelled = replace(training_set, id=f"{training_set.id}-unlabelled", patches=patches)
    path = snapshot.with_name("snapshot-unlabelled.json")
    with_corpus(unlabelled, corpus).save(path)
    return path


def unlabelled_scene(folder: Path, args: argparse.Namespace) -> Path | None:
    """Snapshot of ``--unlabelled-patches`` patches of another scene (seed + 1), made once."""
    if not args.unlabelled_patches:
        return None
    snapshot = folder / "snapshot.json"
    if not snapshot.is_file():
        make_training_set(
            folder, n_patches=args.unlabelled_patches, size=args.size, n_dates=args.dates,
            seed=args.seed + 1, **generator_options(args),
        )  # fmt: skip
    return snapshot


def reference_snapshot(snapshot: Path) -> Path | None:
    """The snapshot with each patch's true labels in place of its stored, noisy ones.

    The generator declares ``--noise-rate`` of the parcels as a look-alike class and
    ``make_training_set`` snapshots the clean reference beside them. In small test splits
    those errors fall on the small classes that weigh most in mean F1 (the one
    natural-grassland parcel of the default test split is a mislabelled meadow), so scores
    on the stored labels partly measure who reproduces the labelling errors; scores on this
    snapshot, as on patches that annotators corrected, measure the land cover. None for a
    work folder made before the reference was kept.
    """
    path = snapshot.with_name("snapshot-reference.json")
    return path if path.is_file() else None


def inference_speed(run_dir: Path, snapshot: Path, device: str, max_patches: int) -> float:
    """Pixels per second of a run's Predictor over (up to ``max_patches``) whole test patches."""
    predictor = load_predictor(run_dir, device)
    patches = TrainingSet.load(snapshot).split("test")[:max_patches]
    seconds, pixels = 0.0, 0
    for i, patch in enumerate(patches):
        data = read_patch(patch.dir, mmap=False)
        start = time.perf_counter()
        predictor.predict_proba(data.series, data.clouds, data.dates, data.bands)
        if device == "cuda":
            torch.cuda.synchronize()
        if i or len(patches) == 1:  # the first call pays lazy initialisation (CUDA kernels)
            seconds += time.perf_counter() - start
            pixels += data.series.shape[2] * data.series.shape[3]
    return pixels / seconds if seconds > 0 else float("nan")


def synthetic_snapshot(folder: Path, args: argparse.Namespace) -> Path:
    """The benchmark's store + snapshot, made once per work folder (same data settings)."""
    settings = {k: getattr(args, k) for k in DATA_KEYS}
    recorded = folder / "bench-data.json"
    if recorded.is_file():
        if {**DATA_KEYS_ADDED, **json.loads(recorded.read_text())} != settings:
            raise ValueError(f"the kept work folder holds other data: {recorded.read_text()}")
        return folder / "snapshot.json"
    snapshot = make_training_set(
        folder, n_patches=args.patches, size=args.size, n_dates=args.dates, seed=args.seed,
        **generator_options(args),
    )  # fmt: skip
    recorded.write_text(json.dumps(settings))
    return snapshot


def stage_context(root: Path, name: str) -> LocalContext:
    """A stage's checkpoint and output folders under the work folder ``root``."""
    return LocalContext(root / "ckpt" / name, root / "runs" / name)


def _train_stage(root: Path, name: str, stage: str, snapshot: Path, config: dict) -> dict:
    """One U-BARN training stage in a worker process (its own folders under ``root``)."""
    from ml.train import finetune, pretrain

    trainer = pretrain.run if stage == "pretrain" else finetune.run
    return trainer(stage_context(root, name), snapshot=snapshot, config=config)


def _worker_threads(threads: int) -> None:
    if threads:
        torch.set_num_threads(threads)


class Bench:
    """Runs the stages into one work folder and collects one table row per evaluated run."""

    def __init__(self, root: Path, snapshot: Path, args: argparse.Namespace) -> None:
        self.root, self.snapshot, self.args = root, snapshot, args
        self.seeds: list[int] = args.train_seeds
        self.devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        self.rows: list[dict[str, Any]] = []
        self.results: dict[str, dict[str, Any]] = {}
        self.pretrains = any(regime != "scratch" for regime in args.regimes)
        self.reference: Path | None = None

    def name(self, base: str, seed: int) -> str:
        """A run's folder name: the scene's own seed keeps the plain name (older folders)."""
        return base if seed == self.args.seed else f"{base}-s{seed}"

    def ubarn_config(self, epochs: int, seed: int) -> dict[str, Any]:
        """U-BARN settings shared by every U-BARN stage of one training seed."""
        a = self.args
        config: dict[str, Any] = {
            "model": a.model,
            "epochs": epochs,
            "epoch_crops": a.epoch_crops,
            "seed": seed,
            "device": a.device,
            "patch_size": a.crop,
            "val_size": a.val_crop,
            "batch_size": a.batch_size,
            "patience": a.patience,
            "lr_patience": a.lr_patience,
            # always set: the flags keep the paper's network by default, the presets do not
            "mask_clouds": a.mask_clouds,
            "encoder_norm": a.encoder_norm,
            "pixel_skip": a.pixel_skip,
        }
        return config

    def finished(self, name: str, config: dict[str, Any]) -> dict[str, Any] | None:
        """The results of a finished run in a kept work folder (``--keep``), if any.

        The run is reused only if it was made with ``config``'s settings ("pretrained" left
        out: it is always this folder's own pre-training, whose settings are checked when it
        is reused), so that a table never mixes runs of another experiment.

        Raises:
            ValueError: the kept run was made with other settings.
        """
        run_dir = self.root / "runs" / name
        done = run_dir / "results.json"
        if not (done.is_file() and (run_dir / "run.json").is_file()):
            return None
        recorded = json.loads((run_dir / "run.json").read_text())["config"]
        changed = {
            key: {"kept": recorded.get(key), "asked": value}
            for key, value in config.items()
            if key != "pretrained" and recorded.get(key) != value
        }
        if changed:
            raise ValueError(
                f"the kept run {name} was made with other settings {changed}: "
                f"delete {run_dir} to train it again, or keep another work folder"
            )
        print(f"{name}: reusing the finished run in the work folder", flush=True)
        return json.loads(done.read_text())

    def train_forests(self) -> None:
        """The OSO forests, one after the other in this process, on every core."""
        from ml.rf import train_run

        for seed in self.seeds:
            for fraction in self.args.fractions:
                name = self.name(f"rf-{round(fraction * 100)}", seed)
                config = {"label_fraction": fraction, "seed": seed, "oso_maps": False,
                          "plots": False}  # fmt: skip
                self.results[name] = self.finished(name, config) or train_run(
                    stage_context(self.root, name), snapshot=self.snapshot, config=config
                )
                print(f"{name}: done", flush=True)

    def ubarn_stages(self) -> tuple[list[tuple], dict[str, list[tuple]]]:
        """(name, stage, snapshot, config) of pre-training + scratch, then of FR and FT by
        the name of the pre-training they start from."""
        a = self.args
        extra = unlabelled_scene(self.root / "unlabelled", a) if self.pretrains else None
        first: list[tuple] = []
        after: dict[str, list[tuple]] = {}
        for seed in self.seeds:
            pretrain = self.name("pretrain", seed)
            if self.pretrains:
                first.append((pretrain, "pretrain", unlabelled_snapshot(self.snapshot, extra),
                              self.ubarn_config(a.pretrain_epochs, seed)))  # fmt: skip
            for fraction in a.fractions:
                tag = round(fraction * 100)
                for regime in a.regimes:
                    config = {**self.ubarn_config(a.epochs, seed), "regime": regime,
                              "label_fraction": fraction, "class_balance": a.class_balance,
                              "crop_balance": a.crop_balance, "head_lr": a.head_lr}  # fmt: skip
                    if a.min_date_fraction is not None:
                        config["min_date_fraction"] = a.min_date_fraction
                    if a.ema_decay:
                        config["ema_decay"] = a.ema_decay
                    if regime == "finetune" and a.head_warmup:
                        config["head_warmup_epochs"] = a.head_warmup
                    if regime == "finetune" and a.encoder_lr is not None:
                        # the run's lr is its encoder's; the new head keeps the usual steps
                        config |= {"lr": a.encoder_lr, "head_lr": a.head_lr or DEFAULT_LR}
                    stage = (self.name(f"ubarn-{regime}-{tag}", seed), "finetune",
                             self.snapshot, config)  # fmt: skip
                    if regime == "scratch":
                        first.append(stage)
                    else:
                        config["pretrained"] = str(self.root / "runs" / pretrain)
                        after.setdefault(pretrain, []).append(stage)
        return first, after

    def train_ubarns(self) -> None:
        """Every U-BARN stage in a process pool, FR and FT once their pre-training finished."""
        first, after = self.ubarn_stages()
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            self.args.jobs, mp_context=spawn, initializer=_worker_threads,
            initargs=(self.args.threads,),
        ) as pool:  # fmt: skip
            pending: dict[Future, str] = {}

            def submit(stages: list[tuple]) -> None:
                for name, stage, snapshot, config in stages:
                    done = self.finished(name, config)
                    if done is not None:
                        self.results[name] = done
                        continue
                    future = pool.submit(_train_stage, self.root, name, stage, snapshot, config)
                    pending[future] = name

            submit(first)
            for pretrain in [p for p in after if p in self.results]:
                submit(after.pop(pretrain))
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    name = pending.pop(future)
                    self.results[name] = future.result()
                    print(f"{name}: done", flush=True)
                    submit(after.pop(name, []))

    def record(self, name: str, model: str, regime: str, fraction: float | None, seed: int) -> None:
        """Add a row; speeds are measured with the run's predictor (not for pre-training)."""
        results = self.results[name]
        run_dir = self.root / "runs" / name
        speeds = {}
        if "oa" in results:
            for device in self.devices:
                if model == "RF (OSO)" and device == "cuda":
                    continue  # the forest runs on CPU cores only
                speeds[device] = inference_speed(
                    run_dir, self.snapshot, device, self.args.speed_patches
                )
        scores = {"stored": (results, run_dir)}
        if "oa" in results and self.reference is not None:
            scores["true"] = self.score_on_reference(name)
        row = {"name": name, "model": model, "regime": regime, "fraction": fraction,
               "seed": seed, "results": results, "speeds": speeds, "scores": scores}  # fmt: skip
        self.rows.append(row)
        print(_row_text(row, self.devices), flush=True)

    def score_on_reference(self, name: str) -> tuple[dict[str, Any], Path]:
        """(results, folder of predictions.npz) of a run scored on the true test labels.

        A score newer than the run is reused (``--keep``); the evaluation never
        checkpoints, so its context's checkpoint folder is its output folder.
        """
        from ml import evaluation

        out = self.root / "reference" / name
        done, trained = out / "results.json", self.root / "runs" / name / "results.json"
        if done.is_file() and done.stat().st_mtime >= trained.stat().st_mtime:
            return json.loads(done.read_text()), out
        config = {"run_dir": str(self.root / "runs" / name), "device": self.args.device}
        return evaluation.run(LocalContext(out, out), snapshot=self.reference, config=config), out

    def run(self) -> None:
        self.train_forests()
        self.train_ubarns()
        self.reference = reference_snapshot(self.snapshot)
        for seed in self.seeds:
            if self.pretrains:
                pretrain = self.name("pretrain", seed)
                self.record(pretrain, "U-BARN", "pre-training (no labels)", None, seed)
            for fraction in self.args.fractions:
                tag = round(fraction * 100)
                self.record(self.name(f"rf-{tag}", seed), "RF (OSO)", "supervised", fraction, seed)
                for regime in self.args.regimes:
                    name = self.name(f"ubarn-{regime}-{tag}", seed)
                    self.record(name, "U-BARN", regime, fraction, seed)


def _fmt(value: Any, scale: float = 1.0, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{float(value) * scale:.{digits}f}"


HEADER = ["model", "regime", "labels %", "seed", "OA", "kappa", "mF1", "mIoU",
          "epochs (best)", "train time s", "infer px/s CPU"]  # fmt: skip
SCORE_COLUMNS = 8
"""The true-label table shows the header up to mIoU (no times or speeds)."""


def _row_text(row: dict[str, Any], devices: list[str]) -> str:
    r, s = row["results"], row["speeds"]
    epochs = f"{r['epochs_run']} ({r['best_epoch'] + 1})" if "epochs_run" in r else "—"
    cells = [
        row["model"],
        row["regime"],
        _fmt(row["fraction"], 100, 0),
        str(row["seed"]),
        *(_fmt(r.get(k), 100) for k in ("oa", "kappa", "mean_f1", "miou")),
        epochs,
        _fmt(r.get("fit_seconds")),
        _fmt(s.get("cpu"), digits=0),
    ]
    if "cuda" in devices:
        cells.append(_fmt(s.get("cuda"), digits=0))
    return "| " + " | ".join(cells) + " |"


SCORES = {"stored": "the stored labels", "true": "the true labels (generator's reference)"}


def _score_lines(bench: Bench, score: str) -> list[str]:
    """Per seed and fraction: the best U-BARN vs the forest (mF1, McNemar), and
    pre-training's worth."""
    lines = []
    for seed, fraction in [(s, f) for s in bench.seeds for f in bench.args.fractions]:
        rows = [r for r in bench.rows if r["fraction"] == fraction and r["seed"] == seed
                and score in r["scores"]]  # fmt: skip
        rf = next(r for r in rows if r["model"] == "RF (OSO)")
        ubarns = {r["regime"]: r for r in rows if r["model"] == "U-BARN"}
        if not ubarns:
            continue
        mf1 = {regime: r["scores"][score][0]["mean_f1"] for regime, r in ubarns.items()}
        best = max(mf1, key=mf1.__getitem__)
        with (
            np.load(rf["scores"][score][1] / "predictions.npz") as a,
            np.load(ubarns[best]["scores"][score][1] / "predictions.npz") as b,
        ):
            if not np.array_equal(a["y_true"], b["y_true"]):
                raise RuntimeError("the RF and U-BARN runs were not scored on the same pixels")
            test = mcnemar(a["y_true"], a["y_pred"], b["y_pred"])
            n = a["y_true"].size
        delta = 100 * (mf1[best] - rf["scores"][score][0]["mean_f1"])
        line = (
            f"seed {seed}, {fraction:.0%} labels: best U-BARN = {best} "
            f"(mF1 {delta:+.1f} pts vs RF); McNemar on {n} test pixels: "
            f"p = {test['p_value']:.3g} (RF right/U-BARN wrong {test['n01']}, "
            f"U-BARN right/RF wrong {test['n10']})"
        )
        if "scratch" in mf1 and "finetune" in mf1:
            line += f"; pre-training worth {100 * (mf1['finetune'] - mf1['scratch']):+.1f} pts"
        lines.append(line)
    return lines


def points_text(spread: dict[str, Any]) -> str:
    """An ``ml.experiment`` spread in points: "mean ± sd" (the value alone for one seed)."""
    if spread["n"] == 1:
        return f"{100 * spread['mean']:.1f}"
    return f"{100 * spread['mean']:.1f} ± {100 * spread['sd']:.1f}"


def _seed_summary(bench: Bench, score: str) -> list[str]:
    """Mean ± sd over the training seeds of each run's mF1 and of the paired differences,
    as ``ml.experiment.seed_summary`` computes them for a comparison job (a difference is
    taken within a seed, then averaged; "n > 0" counts the seeds where it is positive).
    """
    regimes = bench.args.regimes
    stages = {"RF": RF_TITLE, **{r: SCRATCH_TITLE if r == "scratch" else r for r in regimes}}
    differences = {f"{r} − RF": (stages[r], "rf") for r in regimes}
    if "scratch" in regimes and len(regimes) > 1:
        differences |= {f"{r} − scratch": (stages[r], "scratch") for r in regimes if r != "scratch"}
    lines = [f"\nmF1 over the training seeds {bench.seeds} (mean ± sd, points):\n",
             "| labels % | " + " | ".join([*stages, *differences]) + " |",
             "|" + "---|" * (1 + len(stages) + len(differences))]  # fmt: skip
    for fraction in bench.args.fractions:
        table = [
            {**row["scores"][score][0], "seed": row["seed"],
             "stage": stages["RF" if row["model"] == "RF (OSO)" else row["regime"]]}
            for row in bench.rows if row["fraction"] == fraction and score in row["scores"]
        ]  # fmt: skip
        summary = {entry["stage"]: entry for entry in seed_summary(table)}
        cells = [points_text(summary[stage]["mean_f1"]) for stage in stages.values()]
        for stage, baseline in differences.values():
            paired = summary[stage]["mean_f1_minus"][baseline]
            cells.append(f"{points_text(paired)} ({paired['wins']}/{paired['n']} > 0)")
        lines.append(f"| {fraction:.0%} | " + " | ".join(cells) + " |")
    return lines


def print_report(bench: Bench, setup: dict[str, Any]) -> None:
    """The markdown table on the stored labels, then the scores on the true labels (when the
    data has them), each followed by McNemar's test of the best U-BARN vs the RF."""
    header = HEADER + (["infer px/s CUDA"] if "cuda" in bench.devices else [])
    print("\n" + json.dumps(setup))
    print(f"\nScored on {SCORES['stored']}:\n\n| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in bench.rows:
        print(_row_text(row, bench.devices))
    print("\n" + "\n".join(_score_lines(bench, "stored")))
    if len(bench.seeds) > 1:
        print("\n".join(_seed_summary(bench, "stored")))
    scored = [row for row in bench.rows if "true" in row["scores"]]
    if not scored:
        return
    print(f"\nScored on {SCORES['true']}:\n\n| " + " | ".join(HEADER[:SCORE_COLUMNS]) + " |")
    print("|" + "---|" * SCORE_COLUMNS)
    for row in scored:
        r = row["scores"]["true"][0]
        cells = [row["model"], row["regime"], _fmt(row["fraction"], 100, 0), str(row["seed"]),
                 *(_fmt(r[k], 100) for k in ("oa", "kappa", "mean_f1", "miou"))]  # fmt: skip
        print("| " + " | ".join(cells) + " |")
    print("\n" + "\n".join(_score_lines(bench, "true")))
    if len(bench.seeds) > 1:
        print("\n".join(_seed_summary(bench, "true")))


def build_parser(description: str) -> argparse.ArgumentParser:
    """The benchmark's options (data, U-BARN training), shared with ``bench_probe.py``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--patches", type=int, default=400)
    parser.add_argument("--size", type=int, default=64, help="patch side, pixels")
    parser.add_argument("--dates", type=int, default=30)
    parser.add_argument(
        "--model", default="tiny", help="U-BARN preset: tiny, small (CPU), or paper on a GPU"
    )
    parser.add_argument("--epochs", type=int, default=40, help="supervised U-BARN epochs")
    parser.add_argument("--pretrain-epochs", type=int, default=40)
    parser.add_argument("--epoch-crops", type=int, default=120, help="U-BARN crops per epoch")
    parser.add_argument("--fractions", default="0.1,1.0", help="label fractions")
    parser.add_argument(
        "--regimes", default=",".join(REGIMES),
        help="U-BARN regimes, of " + ", ".join(REGIMES) + "; empty: the forests only",
    )  # fmt: skip
    parser.add_argument("--crop", type=int, default=16, help="U-BARN training crop side")
    parser.add_argument("--val-crop", type=int, default=32, help="U-BARN validation crop side")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--patience", type=int, default=10, help="early stopping, epochs")
    parser.add_argument("--lr-patience", type=int, default=4, help="ReduceLROnPlateau, epochs")
    parser.add_argument(
        "--class-balance", type=float, default=TrainConfig.class_balance,
        help="U-BARN loss weights (freq)^-balance (default: the config's, 0)",
    )  # fmt: skip
    parser.add_argument(
        "--crop-balance", type=float, default=TrainConfig.crop_balance,
        help="U-BARN crops around classes drawn as (pixel count)^(1 - balance); 0: uniform"
        " (default: the config's, 1)",
    )  # fmt: skip
    parser.add_argument(
        "--min-date-fraction", type=float, default=None,
        help="U-BARN supervised runs: fewest of a series' dates a training crop keeps, as a"
        " share (temporal subsampling; default: the config's 0.7; 1: every date)",
    )  # fmt: skip
    parser.add_argument(
        "--ema-decay", type=float, default=TrainConfig.ema_decay,
        help="U-BARN supervised runs: validate, keep and predict with a moving average of the"
        " weights of this decay per step (default: the config's, 0: the raw weights)",
    )  # fmt: skip
    parser.add_argument(
        "--mask-clouds", action="store_true",
        help="U-BARN reads each pixel's clear dates only (cloudy ones masked in its attention;"
        " default: every date, as the paper, so that the commands of bench/README.md keep"
        " their meaning; the app's tiny and small presets mask them)",
    )  # fmt: skip
    parser.add_argument(
        "--encoder-norm", choices=ENCODER_NORMS, default="group",
        help="normalisation of U-BARN's spatial encoder: group (the paper's, per date crop; the"
        " default here) or batch (keeps each date's absolute reflectance on small crops; the"
        " app's tiny and small presets)",
    )  # fmt: skip
    parser.add_argument(
        "--pixel-skip", action="store_true",
        help="add each pixel's own projected bands to U-BARN's spatial encoder output (default:"
        " the paper's network, without)",
    )  # fmt: skip
    parser.add_argument(
        "--head-lr", type=float, default=None,
        help="learning rate of U-BARN's segmentation head (default: the network's, 1e-3)",
    )  # fmt: skip
    parser.add_argument(
        "--encoder-lr", type=float, default=None,
        help="learning rate of the pre-trained encoder in the fine-tuned regime (FT), the head"
        " keeping --head-lr or 1e-3 (default: the network's, 1e-3)",
    )  # fmt: skip
    parser.add_argument(
        "--head-warmup", type=int, default=0,
        help="fine-tuned regime (FT): epochs with the pre-trained encoder frozen while the head"
        " learns, then the whole network (LP-FT; default 0, the paper's fine-tuning)",
    )  # fmt: skip
    parser.add_argument(
        "--unlabelled-patches", type=int, default=0,
        help="patches of a second scene added to the pre-training corpus",
    )  # fmt: skip
    parser.add_argument("--noise-rate", type=float, default=0.05, help="label noise (generator)")
    parser.add_argument("--cloud-fraction", type=float, default=0.2)
    parser.add_argument(
        "--missed-clouds", type=float, default=0.0,
        help="share of cloud contamination the masks miss (thin clouds, shadows; generator)",
    )  # fmt: skip
    parser.add_argument(
        "--urban-mosaic", action="store_true",
        help="towns as mosaics of roofs, streets, lawns and trees (generator)",
    )  # fmt: skip
    parser.add_argument(
        "--orbits", type=int, default=1,
        help="relative orbits acquiring the scene, each on its own calendar (generator)",
    )  # fmt: skip
    parser.add_argument(
        "--phenology-shift", type=float, default=0.0,
        help="days (sd) by which seasons shift between regions of the scene (generator)",
    )  # fmt: skip
    parser.add_argument(
        "--stale-register", type=float, default=0.0,
        help="share of the scene whose crop labels are last year's crops (generator)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="the scene (data) seed")
    parser.add_argument(
        "--train-seeds", default=None,
        help="training seeds, comma-separated, each a whole comparison (default: --seed)",
    )  # fmt: skip
    parser.add_argument("--device", default="auto", help="U-BARN training device")
    parser.add_argument("--jobs", type=int, default=2, help="U-BARN runs trained at once")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads per U-BARN run (0: torch's)"
    )
    parser.add_argument("--speed-patches", type=int, default=8, help="test patches timed")
    parser.add_argument(
        "--keep", type=Path, default=None, help="work folder to keep (finished runs are reused)"
    )
    parser.add_argument(
        "--ubarn-only", action="store_true",
        help="train the U-BARN runs into --keep and stop; the same command without it then"
        " trains the forests and scores every run (a GPU lease trains, the CPU finishes)",
    )  # fmt: skip
    return parser


def parse_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parsed options, ``--fractions`` as a list of floats, ``--regimes`` as a list."""
    args = parser.parse_args()
    args.fractions = [float(f) for f in args.fractions.split(",")]
    asked = [regime for regime in args.regimes.split(",") if regime]
    if set(asked) - set(REGIMES):
        parser.error(f"--regimes takes some of {', '.join(REGIMES)}, got {args.regimes!r}")
    args.regimes = [r for r in REGIMES if r in asked]
    try:
        seeds = [int(s) for s in args.train_seeds.split(",")] if args.train_seeds else [args.seed]
    except ValueError:
        parser.error(f"--train-seeds takes integers separated by commas, got {args.train_seeds!r}")
    if len(set(seeds)) != len(seeds):
        parser.error(f"--train-seeds repeats a seed: {args.train_seeds!r}")
    args.train_seeds = seeds
    if args.ubarn_only and args.keep is None:
        parser.error("--ubarn-only needs --keep: its runs are finished by a later command")
    return args


def main() -> None:
    args = parse_args(build_parser(__doc__.splitlines()[0]))
    if args.threads:
        torch.set_num_threads(args.threads)
    setup = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    setup["torch_threads"] = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        start = time.perf_counter()
        snapshot = synthetic_snapshot(root / "data", args)
        training_set = TrainingSet.load(snapshot)
        setup["splits"] = {s: len(training_set.split(s)) for s in ("train", "val", "test")}
        setup["data_seconds"] = round(time.perf_counter() - start, 1)
        print(f"data: {setup['splits']} patches in {setup['data_seconds']} s", flush=True)
        bench = Bench(root, snapshot, args)
        if args.ubarn_only:
            bench.train_ubarns()
            print(f"U-BARN runs in {root}: the command without --ubarn-only finishes", flush=True)
            return
        bench.run()
        setup["total_seconds"] = round(time.perf_counter() - start, 1)
        print_report(bench, setup)


if __name__ == "__main__":
    main()
