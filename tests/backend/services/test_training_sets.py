"""Training-set snapshots: chosen statuses, each patch's current label revision, all or nothing."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.errors import Invalid, NotFound
from backend.models import LabelRevision, Patch, TrainingSet
from backend.services.training_sets import create_training_set, snapshot_revisions
from ml.data.snapshot import TrainingSet as Snapshot


@pytest.fixture
def reviewed(session: Session, ingested_dataset) -> list[Patch]:  # noqa: ANN001
    """Four patches: corrected (train, with a revision 2), accepted (test), rejected, unreviewed."""
    patches = session.scalars(select(Patch).order_by(Patch.id)).all()
    for patch, status, split in zip(
        patches,
        ["corrected", "accepted", "rejected", "unreviewed"],
        ["train", "test", "train", "val"],
        strict=True,
    ):
        patch.status, patch.split = status, split
    first = patches[0].revisions[0]
    settings = get_settings()
    second = f"labels/{patches[0].id}/v2.tif"
    settings.path(second).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(settings.path(first.file), settings.path(second))
    session.add(
        LabelRevision(
            patch_id=patches[0].id, version=2, parent_id=first.id, source="correction", file=second
        )
    )
    session.commit()
    return patches


def test_snapshot_takes_accepted_and_corrected_at_their_current_revision(
    session: Session, reviewed
) -> None:  # noqa: ANN001
    settings = get_settings()
    ts = create_training_set(session=session, settings=settings, dataset_id=reviewed[0].dataset_id)
    assert ts.n_patches == 2 and ts.statuses == ["accepted", "corrected"]
    assert ts.file == f"snapshots/{ts.id}.json"
    snapshot = Snapshot.load(settings.path(ts.file))
    assert [p.split for p in snapshot.patches] == ["train", "test"]
    assert snapshot.patches[0].label == settings.path(f"labels/{reviewed[0].id}/v2.tif")
    assert all(p.dir.is_dir() for p in snapshot.patches)
    revisions = snapshot_revisions(settings=settings, training_set=ts)
    assert [(r["patch_id"], r["revision"]) for r in revisions] == [
        (reviewed[0].id, 2),
        (reviewed[1].id, 1),
    ]
    raw = json.loads(settings.path(ts.file).read_text())
    assert not any(p["dir"].startswith("/") or p["label"].startswith("/") for p in raw["patches"])


def test_unreviewed_patches_on_request(session: Session, reviewed) -> None:  # noqa: ANN001
    ts = create_training_set(
        session=session,
        settings=get_settings(),
        dataset_id=reviewed[0].dataset_id,
        include_unreviewed=True,
    )
    assert ts.n_patches == 3 and "unreviewed" in ts.statuses


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"dataset_id": 999}, NotFound),
        ({"statuses": ["rejected"]}, Invalid),  # only train patches: nothing to test on
        ({"statuses": ["disputed"]}, Invalid),  # no patch at all
        ({"statuses": ["approved"]}, Invalid),  # not a status
    ],
)
def test_refused_snapshots_write_nothing(
    session: Session, reviewed, kwargs: dict, error: type
) -> None:  # noqa: ANN001
    kwargs = {"dataset_id": reviewed[0].dataset_id, **kwargs}
    with pytest.raises(error):
        create_training_set(session=session, settings=get_settings(), **kwargs)
    assert session.scalar(select(func.count()).select_from(TrainingSet)) == 0
    assert not get_settings().path("snapshots").exists() or not any(
        get_settings().path("snapshots").iterdir()
    )
