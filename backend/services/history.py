"""A patch's full record: who decided what, when, on which revision, and every revision."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from backend.models import Decision, LabelRevision, Patch, User
from backend.schemas.patches import DecisionOut, PatchHistory, RevisionOut


def decision_out(decision: Decision, username: str, undone: bool = False) -> DecisionOut:
    """API form of one decision."""
    return DecisionOut(
        id=decision.id,
        patch_id=decision.patch_id,
        kind=decision.kind,
        user=username,
        campaign_id=decision.campaign_id,
        label_revision_id=decision.label_revision_id,
        new_revision_id=decision.new_revision_id,
        undoes_id=decision.undoes_id,
        undone=undone,
        comment=decision.comment,
        confidence=decision.confidence,
        time_spent_ms=decision.time_spent_ms,
        view=decision.view,
        date_shown=decision.date_shown,
        created_at=decision.created_at,
    )


def revision_out(revision: LabelRevision, author: str | None) -> RevisionOut:
    """API form of one label revision."""
    return RevisionOut(
        id=revision.id,
        version=revision.version,
        parent_id=revision.parent_id,
        author=author,
        source=revision.source,
        note=revision.note,
        created_at=revision.created_at,
    )


def patch_history(*, session: Session, patch: Patch) -> PatchHistory:
    """Every decision and revision of the patch, oldest first, with user names."""
    rows = session.execute(
        select(Decision, User.username)
        .join(User, User.id == Decision.user_id)
        .where(Decision.patch_id == patch.id)
        .order_by(Decision.id)
    ).all()
    undone = {d.undoes_id for d, _ in rows if d.undoes_id is not None}
    author = aliased(User)
    revisions = session.execute(
        select(LabelRevision, author.username)
        .outerjoin(author, author.id == LabelRevision.author_id)
        .where(LabelRevision.patch_id == patch.id)
        .order_by(LabelRevision.version)
    ).all()
    return PatchHistory(
        patch_id=patch.id,
        status=patch.status,
        decisions=[decision_out(d, name, d.id in undone) for d, name in rows],
        revisions=[revision_out(r, name) for r, name in revisions],
    )
