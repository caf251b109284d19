"""A launch's training sets and their snapshot files: committed with the job, or neither.

On both databases: PostgreSQL never hands an id out twice, so a file left by a failed
launch would never be overwritten by a later training set, as it is on SQLite.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from backend import db
from backend.config import get_settings
from backend.models import Job, TrainingSet
from backend.services.ingest import ingest
from backend.services.jobs import launch


def _files_and_rows() -> tuple[set[str], set[str], int]:
    """The snapshot files on disk, those the training sets name, and the jobs queued."""
    folder = get_settings().path("snapshots")
    on_disk = {f"snapshots/{p.name}" for p in folder.iterdir()} if folder.exists() else set()
    with db.get_sessionmaker()() as session:
        named = set(session.scalars(select(TrainingSet.file)))
        jobs = len(session.scalars(select(Job.id)).all())
    return on_disk, named, jobs


def test_a_failed_launch_leaves_no_snapshot_file(
    any_database: str, synthetic_source: Path, other_scene_source: Path
) -> None:
    settings = get_settings()
    with db.get_sessionmaker()() as session:
        labelled = ingest(session=session, path=synthetic_source, format="geotiff", name="tiny")
        other = ingest(session=session, path=other_scene_source, format="geotiff", name="other")
    params = {"dataset_id": labelled.dataset_id, "include_unreviewed": True,
              "corpus_dataset_ids": [other.dataset_id]}  # fmt: skip
    squatter = settings.path("snapshots/2.json")  # the corpus's file, after the labels' 1
    squatter.mkdir(parents=True)
    with db.get_sessionmaker()() as session, pytest.raises(OSError):
        launch(session=session, settings=settings, kind="pretrain", params=params)
    assert _files_and_rows() == ({"snapshots/2.json"}, set(), 0)  # the squatter alone

    squatter.rmdir()
    with db.get_sessionmaker()() as session:
        job = launch(session=session, settings=settings, kind="pretrain", params=params)
        ids = [job.params["training_set_id"], *job.params["corpus_training_set_ids"]]
    on_disk, named, jobs = _files_and_rows()
    assert on_disk == named == {f"snapshots/{i}.json" for i in ids}
    assert jobs == 1
