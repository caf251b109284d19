"""Training-set snapshots: relative paths, splits, and the tiny synthetic one for tests."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ml.data.snapshot import SnapshotPatch, TrainingSet, make_training_set, with_corpus
from ml.data.store import read_label, read_patch
from ml.nomenclature import builtin


def test_save_load_round_trip_with_relative_paths(tmp_path: Path) -> None:
    root = tmp_path / "data"
    patches = [
        SnapshotPatch(
            "a", root / "patches" / "1", root / "labels" / "1" / "2.tif", "train", "b0_0"
        ),
        SnapshotPatch("b", root / "patches" / "2", root / "labels" / "2" / "1.tif", "test", "b1_0"),
    ]
    ts = TrainingSet(
        "v1", builtin("oso-2018"), ["B2", "B3"], patches, created="2024-01-01T00:00:00"
    )
    ts.save(root / "snapshots" / "v1.json")
    raw = json.loads((root / "snapshots" / "v1.json").read_text())
    assert raw["patches"][0]["dir"] == "../patches/1" and raw["version"] == 1
    shutil.move(root, tmp_path / "moved")
    back = TrainingSet.load(tmp_path / "moved" / "snapshots" / "v1.json")
    assert back.id == "v1" and back.nomenclature == ts.nomenclature and back.bands == ["B2", "B3"]
    assert back.patches[1].dir == (tmp_path / "moved" / "patches" / "2").resolve()
    assert [p.id for p in back.split("test")] == ["b"]
    with pytest.raises(ValueError, match="unknown split"):
        back.split("holdout")


def test_malformed_snapshot_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"version": 1, "id": "x"}))
    with pytest.raises(ValueError, match="s.json"):
        TrainingSet.load(path)


def test_make_training_set_gives_disjoint_nonempty_splits(tmp_path: Path) -> None:
    path = make_training_set(tmp_path, n_patches=8, size=32, n_dates=8, seed=0)
    ts = TrainingSet.load(path)
    assert len(ts.patches) == 8 and ts.nomenclature.name == "oso-2018"
    blocks = {s: {p.block for p in ts.split(s)} for s in ("train", "val", "test")}
    assert all(blocks.values())
    assert not (blocks["train"] & blocks["test"]) and not (blocks["train"] & blocks["val"])
    patch = ts.split("test")[0]
    data = read_patch(patch.dir)
    labels = read_label(patch.label)
    assert data.series.shape == (8, 10, 32, 32) and labels.shape == (32, 32)
    assert set(np.unique(labels)) <= set(ts.nomenclature.valid_codes)


def test_make_training_set_snapshots_the_true_labels_beside_the_noisy_ones(
    tmp_path: Path,
) -> None:
    path = make_training_set(tmp_path, n_patches=8, size=32, n_dates=8, seed=0, noise_rate=0.3)
    noisy = TrainingSet.load(path)
    true = TrainingSet.load(path.with_name("snapshot-reference.json"))
    assert true.id == f"{noisy.id}-reference"
    assert [(p.id, p.dir, p.split) for p in true.patches] == [
        (p.id, p.dir, p.split) for p in noisy.patches
    ]
    differ = 0
    for n, t in zip(noisy.patches, true.patches, strict=True):
        source = read_label(tmp_path / "source" / "reference" / f"{t.id}.tif")
        assert np.array_equal(read_label(t.label), source)
        differ += int((read_label(n.label) != source).sum())
    assert differ > 0  # the noise changed some labels; the reference kept them true


def _snapshot(root: Path, name: str, bands: list[str], splits: list[str]) -> TrainingSet:
    patches = [
        SnapshotPatch(f"{name}{i}", root / name / str(i), root / f"{name}{i}.tif", split, "")
        for i, split in enumerate(splits)
    ]
    return TrainingSet(name, builtin("oso-2018"), bands, patches)


def test_a_corpus_widens_the_train_split_only(tmp_path: Path) -> None:
    labelled = _snapshot(tmp_path, "a", ["B2", "B3"], ["train", "val", "test"])
    corpus = [
        _snapshot(tmp_path, "b", ["B2", "B3"], ["train", "test", "val"]),
        _snapshot(tmp_path, "c", ["B2", "B3"], ["test"]),
    ]
    widened = with_corpus(labelled, corpus)
    assert [p.id for p in widened.split("train")] == ["a0", "b0", "b1", "b2", "c0"]
    assert widened.split("val") == labelled.split("val")
    assert widened.split("test") == labelled.split("test")
    assert widened.id == labelled.id and len(labelled.patches) == 3  # a copy
    assert with_corpus(labelled, []) == labelled


def test_a_corpus_of_other_bands_or_of_the_same_patches_is_refused(tmp_path: Path) -> None:
    labelled = _snapshot(tmp_path, "a", ["B2", "B3"], ["train", "val", "test"])
    with pytest.raises(ValueError, match=r"corpus 'b' has bands \['B3', 'B2'\]"):
        with_corpus(labelled, [_snapshot(tmp_path, "b", ["B3", "B2"], ["train"])])
    itself = _snapshot(tmp_path, "a", ["B2", "B3"], ["train", "train", "train"])
    with pytest.raises(ValueError, match="patch 'a0' is already in the training set"):
        with_corpus(labelled, [replace(itself, id="again")])
