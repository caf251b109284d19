"""A frozen training-set version: which patches, which label revision, which split.

The backend writes one JSON file per training-set version when a run is launched; the
trainers only ever read that file, so a run is reproducible even after more labels are
validated. Paths inside are relative to the snapshot's folder (the data directory can
move between machines).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml.data.splits import SPLITS
from ml.nomenclature import Nomenclature

SNAPSHOT_VERSION = 1


@dataclass
class SnapshotPatch:
    """One patch of a training set: its store folder, its label file, split and block."""

    id: str
    dir: Path
    label: Path
    split: str
    block: str


@dataclass
class TrainingSet:
    """A training-set snapshot as the trainers see it (absolute, resolved paths)."""

    id: str
    nomenclature: Nomenclature
    bands: list[str]
    patches: list[SnapshotPatch]
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def split(self, name: str) -> list[SnapshotPatch]:
        """The patches of one split ("train", "val" or "test"), in snapshot order."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        return [p for p in self.patches if p.split == name]

    @classmethod
    def load(cls, path: Path) -> TrainingSet:
        """Read a snapshot JSON; ValueError naming the file when it is malformed."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
            if data.get("version") != SNAPSHOT_VERSION:
                raise ValueError(f"unsupported snapshot version {data.get('version')!r}")
            root = path.parent
            patches = [_patch_from(p, root) for p in data["patches"]]
            return cls(
                id=str(data["id"]),
                nomenclature=Nomenclature.from_dict(data["nomenclature"], path.name),
                bands=list(data["bands"]),
                patches=patches,
                created=str(data.get("created", "")),
            )
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path.name}: not a valid training-set snapshot ({exc})") from exc

    def save(self, path: Path) -> None:
        """Write the snapshot JSON with paths relative to its folder (atomic replace)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        root = path.parent.resolve()
        data: dict[str, Any] = {
            "version": SNAPSHOT_VERSION,
            "id": self.id,
            "created": self.created,
            "nomenclature": self.nomenclature.to_dict(),
            "bands": list(self.bands),
            "patches": [
                {
                    "id": p.id,
                    "dir": os.path.relpath(Path(p.dir).resolve(), root),
                    "label": os.path.relpath(Path(p.label).resolve(), root),
                    "split": p.split,
                    "block": p.block,
                }
                for p in self.patches
            ],
        }
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False))
        os.replace(tmp, path)


def with_corpus(training_set: TrainingSet, corpus: Sequence[TrainingSet]) -> TrainingSet:
    """The training set with every patch of ``corpus`` added to its train split.

    For pre-training, which reads images and never labels: other scenes, tiles or years
    widen what the encoder learns from, as the paper pre-trains on a multi-tile unlabelled
    corpus, while val (epoch selection) and test (the reported loss) stay the training
    set's own. A corpus must share the bands, in order (the encoder's input channels and
    the normalisation), and may not hold a patch the training set already has, which would
    put a val or test image in train.

    Raises:
        ValueError: other bands, or a patch already in the training set.
    """
    patches = list(training_set.patches)
    seen = {Path(p.dir).resolve() for p in patches}
    for extra in corpus:
        if list(extra.bands) != list(training_set.bands):
            raise ValueError(
                f"corpus {extra.id!r} has bands {list(extra.bands)}, "
                f"the training set {list(training_set.bands)}"
            )
        for patch in extra.patches:
            folder = Path(patch.dir).resolve()
            if folder in seen:
                raise ValueError(
                    f"corpus {extra.id!r}: patch {patch.id!r} is already in the training set"
                )
            seen.add(folder)
            patches.append(replace(patch, split="train"))
    return replace(training_set, patches=patches)


def _patch_from(entry: dict[str, Any], root: Path) -> SnapshotPatch:
    split = entry["split"]
    if split not in SPLITS:
        raise ValueError(f"patch {entry.get('id')!r} has unknown split {split!r}")
    return SnapshotPatch(
        id=str(entry["id"]),
        dir=(root / entry["dir"]).resolve(),
        label=(root / entry["label"]).resolve(),
        split=split,
        block=str(entry.get("block", "")),
    )


def make_training_set(
    root: Path,
    n_patches: int = 8,
    size: int = 32,
    n_dates: int = 8,
    seed: int = 0,
    *,
    noise_rate: float = 0.0,
    **realism: Any,
) -> Path:
    """Generate a tiny synthetic dataset, ingest it into a store, and snapshot it (for tests).

    ``realism`` goes to the generator as it is (``cloud_fraction``, ``missed_clouds``,
    ``urban_mosaic``, ``orbits``, ``phenology_shift``, ``stale_register``:
    ``ml.data.synthetic.generate``); label noise is off unless asked, as tests want their
    labels exact.

    Layout under ``root``: ``source/`` (the synthetic GeoTIFF dataset), ``patches/<id>/``
    (store folders), ``labels/<id>.tif`` and ``snapshot.json``, whose path is returned.
    Splits are the generator's spatial blocks, so every split is non-empty from 3 patches.
    The generator's true labels (before its label noise) go to ``reference/<id>.tif`` and
    ``snapshot-reference.json``, the same patches over them, so that runs can also be scored
    on what the land cover is rather than on what was declared.
    """
    from ml.data.layouts import scan
    from ml.data.store import write_label, write_patch
    from ml.data.synthetic import generate

    root = Path(root)
    source = root / "source"
    generate(
        source,
        n_patches=n_patches,
        patch_size=size,
        n_dates=n_dates,
        seed=seed,
        noise_rate=noise_rate,
        **realism,
    )
    dataset = scan(source, format="geotiff")
    if dataset.problems:
        raise RuntimeError(f"synthetic dataset failed validation: {dataset.problems}")
    patches, references = [], []
    for scanned in dataset.patches:
        data, labels, reference = scanned.load()
        folder = root / "patches" / scanned.id
        label = root / "labels" / f"{scanned.id}.tif"
        write_patch(folder, data)
        write_label(label, labels, data.crs, data.transform)
        patches.append(
            SnapshotPatch(scanned.id, folder, label, scanned.split or "train", scanned.block or "")
        )
        true_label = root / "reference" / f"{scanned.id}.tif"
        write_label(true_label, reference, data.crs, data.transform)
        references.append(replace(patches[-1], label=true_label))
    training_set = TrainingSet(
        id=f"synthetic-s{seed}", nomenclature=dataset.nomenclature, bands=dataset.bands,
        patches=patches,
    )  # fmt: skip
    replace(training_set, id=f"{training_set.id}-reference", patches=references).save(
        root / "snapshot-reference.json"
    )
    snapshot = root / "snapshot.json"
    training_set.save(snapshot)
    return snapshot
