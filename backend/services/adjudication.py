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

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.errors import Invalid
from backend.models import Assignment, Campaign, Decision, DecisionKind, LabelRevision, Patch, User
from backend.services import decisions, mask_figures
from backend.services.agreement import (
    ADJUDICATION_VIEW,
    campaign_decisions,
    mask_revision,
    standing_decisions,
)
from backend.services.labels import current_revision, get_patch, revision_of


def _masks_differ(session: Session, revision_ids: set[int]) -> bool:
    files = sorted(mask_figures.revision_files(session=session, revision_ids=revision_ids).values())
    return any(not mask_figures.same_mask(files[0], other) for other in files[1:])


def _settlements(session: Session, patch_ids: list[int]) -> dict[int, Decision]:
    """Each patch's standing adjudication by a reviewer (patches without one are absent)."""
    settled: dict[int, Decision] = {}
    for chunk in range(0, len(patch_ids), 500):
        rows = list(
            session.scalars(
                select(Decision)
                .where(Decision.patch_id.in_(patch_ids[chunk : chunk + 500]))
                .where(or_(Decision.view == ADJUDICATION_VIEW, Decision.kind == DecisionKind.undo))
                .order_by(Decision.id)
            )
        )
        undone = {d.undoes_id for d in rows if d.kind == DecisionKind.undo}
        for d in rows:
            if d.view == ADJUDICATION_VIEW and d.id not in undone:
                settled[d.patch_id] = d
    return settled


def disagreements(*, session: Session, campaign: Campaign) -> list[dict[str, Any]]:
    """Patches of the campaign where annotators disagree, unsettled ones first."""
    standing = standing_decisions(campaign_decisions(session=session, campaign_id=campaign.id))
    by_patch: dict[int, dict[int, Decision]] = defaultdict(dict)
    for (patch_id, user_id), d in standing.items():
        by_patch[patch_id][user_id] = d
    names = dict(session.execute(select(User.id, User.username)).all())
    found: dict[int, list[str]] = {}
    for patch_id, judged in by_patch.items():
        kinds = {d.kind for d in judged.values()}
        revisions = {r for r in map(mask_revision, judged.values()) if r is not None}
        reasons = []
        if len(judged) >= 2 and len(kinds) > 1:
            reasons.append("decisions")
        if len(judged) >= 2 and DecisionKind.correct in kinds and _masks_differ(session, revisions):
            reasons.append("masks")
        if reasons:
            found[patch_id] = reasons
    ids = sorted(found)
    patches = (
        {p.id: p for p in session.scalars(select(Patch).where(Patch.id.in_(ids)))} if ids else {}
    )
    settled = _settlements(session, ids)
    out = [
        {
            "patch_id": patch_id,
            "external_id": patches[patch_id].external_id,
            "status": patches[patch_id].status,
            "reasons": found[patch_id],
            "decisions": {
                names.get(u, str(u)): d.kind for u, d in sorted(by_patch[patch_id].items())
            },
            "settled": patch_id in settled,
            "settled_as": settled[patch_id].kind if patch_id in settled else None,
        }
        for patch_id in ids
    ]
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
    settled = _settlements(session, [patch_id]).get(patch_id)
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
