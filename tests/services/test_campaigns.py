"""Campaign creation (balanced overlap, gold, order, validation) and progress."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from backend.errors import Conflict, Invalid, NotFound
from backend.models import Assignment, Campaign, Patch
from backend.services.campaigns import campaign_progress, create_campaign
from tests.quality_data import judge, make_dataset


@pytest.fixture
def setup(session, make_user):  # noqa: ANN001, ANN201
    dataset = make_dataset(session, n_patches=6)
    users = [make_user(f"ann{i}") for i in range(3)]
    return dataset, users


def _assignments(session, campaign: Campaign) -> list[Assignment]:  # noqa: ANN001
    return list(session.scalars(select(Assignment).where(Assignment.campaign_id == campaign.id)))


def test_overlap_is_balanced_and_every_pair_shares_patches(session, setup) -> None:  # noqa: ANN001
    dataset, users = setup
    campaign = create_campaign(
        session=session, name="c1", dataset_id=dataset.id, overlap=2, user_ids=[u.id for u in users]
    )
    rows = _assignments(session, campaign)
    per_patch = Counter(a.patch_id for a in rows)
    assert set(per_patch.values()) == {2} and len(per_patch) == 6
    per_user = Counter(a.user_id for a in rows)
    assert sorted(per_user.values()) == [4, 4, 4]
    pairs = Counter(tuple(sorted(a.user_id for a in rows if a.patch_id == p)) for p in per_patch)
    assert len(pairs) == 3  # all three annotator pairs meet on some patch


def test_suspicion_order_puts_most_suspicious_first(session, setup) -> None:  # noqa: ANN001
    dataset, users = setup
    campaign = create_campaign(
        session=session,
        name="c1",
        dataset_id=dataset.id,
        overlap=1,
        user_ids=[users[0].id],
        order="suspicion",
    )
    queue = sorted(_assignments(session, campaign), key=lambda a: a.position)
    suspicion = [session.get(Patch, a.patch_id).suspicion for a in queue]
    assert suspicion == sorted(suspicion, reverse=True)


def test_filter_and_gold_go_to_every_annotator(session, setup) -> None:  # noqa: ANN001
    dataset, users = setup
    ids = sorted(p.id for p in dataset.patches)
    campaign = create_campaign(
        session=session,
        name="gold",
        dataset_id=dataset.id,
        overlap=1,
        user_ids=[u.id for u in users[:2]],
        filter={"split": ["train", "val"]},
        gold={ids[2]: "reject"},
        order="id",
    )
    rows = _assignments(session, campaign)
    gold = [a for a in rows if a.is_gold]
    assert sorted(a.user_id for a in gold) == sorted(u.id for u in users[:2])
    assert {a.gold_answer for a in gold} == {"reject"}
    non_gold = {a.patch_id for a in rows if not a.is_gold}
    assert non_gold == {p.id for p in dataset.patches if p.split in ("train", "val")} - {ids[2]}
    for user in users[:2]:  # gold sits inside each queue, not at its end
        queue = sorted((a for a in rows if a.user_id == user.id), key=lambda a: a.position)
        assert 0 < [a.is_gold for a in queue].index(True) < len(queue) - 1 or len(queue) <= 2


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"dataset_id": 999}, NotFound, "No dataset"),
        ({"overlap": 4}, Invalid, "Overlap"),
        ({"overlap": 0}, Invalid, "Overlap"),
        ({"user_ids": [999]}, Invalid, "Unknown or inactive"),
        ({"user_ids": []}, Invalid, "at least one annotator"),
        ({"filter": {"split": "nowhere"}}, Invalid, "selects no patch"),
        ({"filter": {"colour": "red"}}, Invalid, "Unknown filter"),
        ({"order": "alphabet"}, Invalid, "Unknown order"),
        ({"gold": {999: "accept"}}, Invalid, "not in this dataset"),
        ({"name": "  "}, Invalid, "name"),
    ],
)
def test_bad_input_writes_nothing(session, setup, kwargs, error, message) -> None:  # noqa: ANN001
    dataset, users = setup
    args = {
        "name": "bad",
        "dataset_id": dataset.id,
        "overlap": 2,
        "user_ids": [u.id for u in users],
    } | kwargs
    with pytest.raises(error, match=message):
        create_campaign(session=session, **args)
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0
    assert session.scalar(select(func.count()).select_from(Assignment)) == 0


def test_duplicate_name_is_a_conflict(session, setup) -> None:  # noqa: ANN001
    dataset, users = setup
    create_campaign(
        session=session, name="same", dataset_id=dataset.id, overlap=1, user_ids=[users[0].id]
    )
    with pytest.raises(Conflict):
        create_campaign(
            session=session, name="same", dataset_id=dataset.id, overlap=1, user_ids=[users[1].id]
        )
    assert session.scalar(select(func.count()).select_from(Campaign)) == 1


def test_progress_counts_done_remaining_and_rate(session, setup) -> None:  # noqa: ANN001
    dataset, users = setup
    campaign = create_campaign(
        session=session,
        name="c1",
        dataset_id=dataset.id,
        overlap=2,
        user_ids=[u.id for u in users[:2]],
    )
    mine = sorted(
        (a for a in _assignments(session, campaign) if a.user_id == users[0].id),
        key=lambda a: a.position,
    )
    judge(session, users[0], mine[0].patch_id, "accept")
    judge(session, users[0], mine[1].patch_id, "reject")
    progress = campaign_progress(session=session, campaign=campaign)
    rows = {r["annotator"]: r for r in progress["annotators"]}
    assert (rows["ann0"]["done"], rows["ann0"]["remaining"], rows["ann0"]["decisions"]) == (2, 4, 2)
    assert (rows["ann1"]["done"], rows["ann1"]["remaining"], rows["ann1"]["decisions"]) == (0, 6, 0)
    assert rows["ann0"]["decisions_per_hour"] is None or rows["ann0"]["decisions_per_hour"] > 0
    assert progress["done"] == 2 and progress["remaining"] == 10 and progress["n_patches"] == 6
