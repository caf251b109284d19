"""Adjudication: find where a campaign's annotators disagree, show their versions side by
side, and let a reviewer settle the final label.

Two annotators disagree on a patch when their standing decisions differ, or when the
masks they stand by (a correction, or the revision they accepted) differ pixel-wise. The
reviewer settles by picking one version (an annotator's correction or the original), which
becomes a new label revision with source "adjudication", or by rejecting the patch; either
way the reviewer's decision is recorded (view "adjudication") and, being a reviewer's,
settles the patch's status (decisions.derive_status).
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.errors import Invalid
from backend.models import Assignment, Campaign, Decision, DecisionKind, LabelRevision, Patch, User
from backend.services import decisions
from backend.services.agreement import (
    ADJUDICATION_VIEW,
    campaign_decisions,
    mask_revision,
    standing_decisions,
)
from backend.services.labels import current_revision, get_patch, read_revision, revision_of


def _masks_differ(session: Session, revision_ids: set[int]) -> bool:
    if len(revision_ids) < 2:
        return False
    arrays = [read_revision(session.get(LabelRevision, r)) for r in revision_ids]
    return any(not np.array_equal(arrays[0], a) for a in arrays[1:])


def _settlement(session: Session, patch_id: int) -> Decision | None:
    """The reviewer's standing adjudication of a patch, if any."""
    rows = session.scalars(
        select(Decision).where(Decision.patch_id == patch_id).order_by(Decision.id)
    )
    rows = list(rows)
    undone = {d.undoes_id for d in rows if d.kind == DecisionKind.undo}
    settled = [d for d in rows if d.view == ADJUDICATION_VIEW and d.id not in undone]
    return settled[-1] if settled else None


def disagreements(*, session: Session, campaign: Campaign) -> list[dict[str, Any]]:
    """Patches of the campaign where annotators disagree, unsettled ones first."""
    standing = standing_decisions(campaign_decisions(session=session, campaign_id=campaign.id))
    by_patch: dict[int, dict[int, Decision]] = defaultdict(dict)
    for (patch_id, user_id), d in standing.items():
        by_patch[patch_id][user_id] = d
    names = dict(session.execute(select(User.id, User.username)).all())
    out = []
    for patch_id, judged in by_patch.items():
        if len(judged) < 2:
            continue
        kinds = {d.kind for d in judged.values()}
        revisions = {r for r in map(mask_revision, judged.values()) if r is not None}
        corrected = DecisionKind.correct in kinds
        reasons = []
        if len(kinds) > 1:
            reasons.append("decisions")
        if corrected and _masks_differ(session, revisions):
            reasons.append("masks")
        if not reasons:
            continue
        patch = session.get(Patch, patch_id)
        settled = _settlement(session, patch_id)
        out.append(
            {
                "patch_id": patch_id,
                "external_id": patch.external_id,
                "status": patch.status,
                "reasons": reasons,
                "decisions": {names.get(u, str(u)): d.kind for u, d in sorted(judged.items())},
                "settled": settled is not None,
                "settled_as": settled.kind if settled else None,
            }
        )
    return sorted(out, key=lambda r: (r["settled"], r["patch_id"]))


def _campaign_of(session: Session, patch_id: int, campaign_id: int | None) -> int | None:
    if campaign_id is not None:
        return campaign_id
    return session.scalar(
        select(Assignment.campaign_id)
        .where(Assignment.patch_id == patch_id)
        .order_by(Assignment.campaign_id.desc())
    )


def versions(*, session: Session, patch_id: int, campaign_id: int | None = None) -> dict[str, Any]:
    """The versions to compare on one patch: the original and each annotator's standing one."""
    patch = get_patch(session=session, patch_id=patch_id)
    campaign_id = _campaign_of(session, patch_id, campaign_id)
    decided = (
        campaign_decisions(session=session, campaign_id=campaign_id)
        if campaign_id is not None
        else []
    )
    standing = standing_decisions(d for d in decided if d.patch_id == patch_id)
    names = dict(session.execute(select(User.id, User.username)).all())
    current = current_revision(session=session, patch_id=patch_id)
    judged = [d.label_revision_id for d in standing.values() if d.label_revision_id is not None]
    original_id = min(judged) if judged else (current.id if current else None)
    settled = _settlement(session, patch_id)
    return {
        "patch_id": patch.id,
        "external_id": patch.external_id,
        "status": patch.status,
        "campaign_id": campaign_id,
        "dates": list(patch.dates),
        "original_revision_id": original_id,
        "current_revision_id": current.id if current else None,
        "annotators": [
            {
                "user_id": uid,
                "annotator": names.get(uid, str(uid)),
                "decision": d.kind,
                "comment": d.comment,
                "confidence": d.confidence,
                "time_spent_ms": d.time_spent_ms,
                "created_at": d.created_at.isoformat(),
                "revision_id": mask_revision(d),
            }
            for (_, uid), d in sorted(standing.items(), key=lambda kv: names.get(kv[0][1], ""))
        ],
        "settled": (
            {
                "by": names.get(settled.user_id),
                "decision": settled.kind,
                "comment": settled.comment,
                "revision_id": settled.new_revision_id or settled.label_revision_id,
            }
            if settled
            else None
        ),
    }


def adjudicate(
    *,
    session: Session,
    reviewer: User,
    patch_id: int,
    revision_id: int | None,
    reject: bool = False,
    comment: str = "",
    campaign_id: int | None = None,
) -> Decision:
    """Settle a patch: its final label is a copy of `revision_id` (or the patch is rejected).

    The chosen revision is copied into a new revision (source "adjudication") so the
    history shows who settled it; choosing the original records an ``accept``, choosing an
    annotator's correction a ``correct`` decision.

    Raises:
        NotFound: unknown patch or a revision of another patch.
        Invalid: neither a revision nor a rejection, or both.

    The patch's row lock (decisions.lock_patch) serialises this with corrections, so the
    new version number cannot be taken by a concurrent writer.
    """
    if reject == (revision_id is not None):
        raise Invalid("Choose one version as the final label (revision_id), or reject the patch.")
    patch = decisions.lock_patch(session=session, patch_id=patch_id)
    current = current_revision(session=session, patch_id=patch_id)
    common = {
        "patch_id": patch_id,
        "user_id": reviewer.id,
        "campaign_id": _campaign_of(session, patch_id, campaign_id),
        "comment": comment,
        "view": ADJUDICATION_VIEW,
    }
    if reject:
        decision = Decision(kind=DecisionKind.reject, label_revision_id=current.id, **common)
        session.add(decision)
        session.flush()
        decisions.refresh_status(session=session, patch=patch)
        session.commit()
        return decision
    chosen = revision_of(session=session, patch=patch, revision_id=revision_id)
    original = versions(session=session, patch_id=patch_id, campaign_id=common["campaign_id"])
    is_original = chosen.id == original["original_revision_id"]
    version = current.version + 1
    revision = LabelRevision(
        patch_id=patch_id,
        version=version,
        parent_id=current.id,
        author_id=reviewer.id,
        source="adjudication",
        file=f"labels/{patch_id}/{version}.tif",
        note=f"adjudicated: version {chosen.version} kept. {comment}"[:1000],
    )
    target = get_settings().path(revision.file)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(get_settings().path(chosen.file), target)
        session.add(revision)
        session.flush()
        kind = DecisionKind.accept if is_original else DecisionKind.correct
        decision = Decision(
            kind=kind,
            label_revision_id=revision.id if is_original else current.id,
            new_revision_id=revision.id,
            **common,
        )
        session.add(decision)
        session.flush()
        decisions.refresh_status(session=session, patch=patch)
        session.commit()
    except BaseException:
        session.rollback()
        target.unlink(missing_ok=True)
        raise
    return decision
