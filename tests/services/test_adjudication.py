"""Agreement figures and adjudication on a real two-annotator campaign."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import func, select

from backend.errors import Invalid, NotFound
from backend.models import Decision, LabelRevision, Patch
from backend.services import agreement_stats as stats
from backend.services.adjudication import adjudicate, disagreements, versions
from backend.services.agreement import campaign_agreement
from tests.quality_data import label_of, two_annotator_campaign


@pytest.fixture
def work(session, make_user):  # noqa: ANN001, ANN201
    return two_annotator_campaign(session, make_user)


def test_agreement_of_the_campaign(session, work) -> None:  # noqa: ANN001
    report = campaign_agreement(session=session, campaign=work["campaign"])
    a = ["accept", "accept", "correct", "reject", "reject"]
    b = ["accept", "reject", "correct", "reject", "accept"]  # b's undone accept on p3 is gone
    (pair,) = report["pairs"]
    assert pair["n_patches"] == 5
    assert pair["cohen_kappa"] == pytest.approx(cohen_kappa_score(a, b))
    assert pair["observed_agreement"] == pytest.approx(3 / 5)
    # rows (accept, reject, uncertain, correct): P_i = 1,0,1,1,0 -> 0.6; p = .4,.4,0,.2 -> p_e .36
    assert report["fleiss_kappa"] == pytest.approx((0.6 - 0.36) / 0.64)
    expected_iou = stats.mask_iou(work["mask_a"], work["mask_b"], ignore=[0])
    assert pair["n_masks_compared"] == 1 and pair["mean_iou"] == pytest.approx(expected_iou)
    assert 0 < pair["mean_iou"] < 1
    people = {r["annotator"]: r for r in report["annotators"]}
    assert people["annotator_a"]["gold_accuracy"] == 1.0
    assert people["annotator_b"]["gold_accuracy"] == 0.0
    # b: 5000, 7000, 9000 (correction), 1000 (undone, still time spent), 6000, 4000
    assert people["annotator_b"]["median_time_s"] == pytest.approx(5.5)
    assert sum(c["n_patches"] for c in report["per_class"]) == 5
    assert all(0 <= c["agreement"] <= 1 for c in report["per_class"])


def test_disagreements_list_decisions_and_masks(session, work) -> None:  # noqa: ANN001
    p = work["patches"]
    rows = {r["patch_id"]: r for r in disagreements(session=session, campaign=work["campaign"])}
    assert set(rows) == {p[1].id, p[2].id, p[4].id}
    assert rows[p[2].id]["reasons"] == ["masks"]
    assert rows[p[1].id]["decisions"] == {"annotator_a": "accept", "annotator_b": "reject"}
    assert not any(r["settled"] for r in rows.values())


def test_settle_with_an_annotators_correction(session, work, make_user) -> None:  # noqa: ANN001
    p, reviewer = work["patches"], make_user("rev", "reviewer")
    view = versions(session=session, patch_id=p[2].id)
    b_version = next(v for v in view["annotators"] if v["annotator"] == "annotator_b")
    decision = adjudicate(
        session=session,
        reviewer=reviewer,
        patch_id=p[2].id,
        revision_id=b_version["revision_id"],
        comment="b is right",
    )
    final = session.get(LabelRevision, decision.new_revision_id)
    assert final.source == "adjudication" and final.author_id == reviewer.id
    assert np.array_equal(label_of(session, p[2], final.version), work["mask_b"])
    session.refresh(p[2])
    assert p[2].status == "corrected" and decision.kind == "correct"
    # keeping the original records an accept; a rejection adds no revision
    original = versions(session=session, patch_id=p[4].id)["original_revision_id"]
    kept = adjudicate(session=session, reviewer=reviewer, patch_id=p[4].id, revision_id=original)
    adjudicate(session=session, reviewer=reviewer, patch_id=p[1].id, revision_id=None, reject=True)
    session.expire_all()
    assert kept.kind == "accept"
    assert [session.get(Patch, x.id).status for x in (p[4], p[1])] == ["accepted", "rejected"]
    rows = {r["patch_id"]: r for r in disagreements(session=session, campaign=work["campaign"])}
    assert all(r["settled"] for r in rows.values())
    assert versions(session=session, patch_id=p[2].id)["settled"]["by"] == "rev"


def test_bad_adjudication_writes_nothing(session, work, make_user) -> None:  # noqa: ANN001
    reviewer, p = make_user("rev", "reviewer"), work["patches"]
    count = (
        session.scalar(select(func.count()).select_from(Decision)),
        session.scalar(select(func.count()).select_from(LabelRevision)),
    )
    with pytest.raises(Invalid):
        adjudicate(session=session, reviewer=reviewer, patch_id=p[1].id, revision_id=None)
    other = versions(session=session, patch_id=p[0].id)["original_revision_id"]
    with pytest.raises(NotFound):
        adjudicate(session=session, reviewer=reviewer, patch_id=p[1].id, revision_id=other)
    with pytest.raises(NotFound):
        adjudicate(session=session, reviewer=reviewer, patch_id=9999, revision_id=None, reject=True)
    session.rollback()
    assert count == (
        session.scalar(select(func.count()).select_from(Decision)),
        session.scalar(select(func.count()).select_from(LabelRevision)),
    )
