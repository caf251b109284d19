"""Validation decisions: recording them (append-only), undoing them, deriving patch status.

Collect Earth Online overwrites an answer when it is changed; sitslab never does. A
decision row is only ever inserted; "undo" is itself a decision pointing at the one it
retracts. A patch's status is therefore a function of its decisions, recomputed on
every write and cached on the patch row for listings and filters.

Concurrency: every write starts by updating the patch row. On PostgreSQL that row lock
serialises writers of one patch (so the status cache sees both of two simultaneous
decisions); on SQLite it takes the database write lock before anything is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.models import (
    Assignment,
    Decision,
    DecisionKind,
    LabelRevision,
    Patch,
    PatchStatus,
    Role,
    User,
)
from backend.services import review_queue
from backend.services.labels import current_revision

JUDGEMENTS = (DecisionKind.accept, DecisionKind.reject, DecisionKind.uncertain, DecisionKind.skip)
ADJUDICATOR_ROLES = {Role.reviewer.value, Role.admin.value}
STATUS_OF = {
    DecisionKind.accept: PatchStatus.accepted,
    DecisionKind.reject: PatchStatus.rejected,
    DecisionKind.uncertain: PatchStatus.uncertain,
    DecisionKind.correct: PatchStatus.corrected,
}


@dataclass(frozen=True)
class DecisionFacts:
    """What status derivation needs to know of one decision."""

    id: int
    kind: str
    user_id: int
    by_reviewer: bool
    label_revision_id: int | None
    undoes_id: int | None


def lock_patch(*, session: Session, patch_id: int) -> Patch:
    """Take the patch's write lock (see module docstring); 404 when there is no such patch."""
    locked = session.execute(
        update(Patch).where(Patch.id == patch_id).values(status=Patch.status)
    ).rowcount
    if not locked:
        raise NotFound(f"No patch with id {patch_id}.")
    return session.get(Patch, patch_id)


def check_may_decide(*, session: Session, user: User, patch_id: int) -> Assignment | None:
    """The user's assignment of the patch; annotators without one get a 403."""
    assignment = review_queue.assignment_for(session=session, user_id=user.id, patch_id=patch_id)
    if assignment is None and not user.has_role(Role.reviewer):
        raise Forbidden(f"Patch {patch_id} is not assigned to you.")
    return assignment


def decide(
    *,
    session: Session,
    user: User,
    patch_id: int,
    kind: str,
    label_revision_id: int | None = None,
    comment: str = "",
    confidence: int | None = None,
    time_spent_ms: int | None = None,
    view: str | None = None,
    date_shown: str | None = None,
) -> Decision:
    """Record accept / reject / uncertain / skip on the revision the user judged."""
    if kind not in JUDGEMENTS:
        raise Invalid(f"Decision kind must be one of {', '.join(JUDGEMENTS)}; got {kind!r}.")
    patch = lock_patch(session=session, patch_id=patch_id)
    assignment = check_may_decide(session=session, user=user, patch_id=patch_id)
    current = current_revision(session=session, patch_id=patch_id)
    judged = label_revision_id if label_revision_id is not None else (current and current.id)
    if label_revision_id is not None and not _revision_belongs(session, patch_id, judged):
        raise Invalid(f"Label revision {label_revision_id} is not a revision of patch {patch_id}.")
    decision = Decision(
        patch_id=patch_id,
        user_id=user.id,
        campaign_id=assignment.campaign_id if assignment else None,
        kind=kind,
        label_revision_id=judged,
        comment=comment,
        confidence=confidence,
        time_spent_ms=time_spent_ms,
        view=view,
        date_shown=date_shown,
    )
    session.add(decision)
    if assignment is not None:
        if kind == DecisionKind.skip:
            review_queue.move_to_end(session=session, assignment=assignment)
        else:
            assignment.done = True
    session.flush()
    refresh_status(session=session, patch=patch, current=current)
    session.commit()
    return decision


def undo_last(*, session: Session, user: User, patch_id: int | None = None) -> Decision:
    """Retract the user's latest standing decision (on `patch_id` if given); 404 if none."""
    target = _last_standing(session, user.id, patch_id)
    if target is None:
        raise NotFound("You have no decision left to undo.")
    if target.kind == DecisionKind.correct:
        raise Conflict(
            "Your last decision saved a corrected label; it stays as a revision. "
            "Save another correction to change it.",
            decision_id=target.id,
        )
    patch = lock_patch(session=session, patch_id=target.patch_id)
    undo = Decision(
        patch_id=target.patch_id,
        user_id=user.id,
        campaign_id=target.campaign_id,
        kind=DecisionKind.undo,
        label_revision_id=target.label_revision_id,
        undoes_id=target.id,
    )
    session.add(undo)
    assignment = review_queue.assignment_for(
        session=session, user_id=user.id, patch_id=target.patch_id
    )
    if assignment is not None:
        review_queue.reopen_first(session=session, assignment=assignment)
    session.flush()
    refresh_status(session=session, patch=patch)
    session.commit()
    return undo


def _revision_belongs(session: Session, patch_id: int, revision_id: int) -> bool:
    revision = session.get(LabelRevision, revision_id)
    return revision is not None and revision.patch_id == patch_id


def _last_standing(session: Session, user_id: int, patch_id: int | None) -> Decision | None:
    undone = select(Decision.undoes_id).where(
        Decision.user_id == user_id, Decision.undoes_id.is_not(None)
    )
    query = select(Decision).where(
        Decision.user_id == user_id,
        Decision.kind != DecisionKind.undo,
        Decision.id.not_in(undone),
    )
    if patch_id is not None:
        query = query.where(Decision.patch_id == patch_id)
    return session.scalar(query.order_by(Decision.id.desc()).limit(1))


def refresh_status(*, session: Session, patch: Patch, current: LabelRevision | None = None) -> str:
    """Recompute and cache the patch's status from all its decisions.

    `current` is the patch's current revision when the caller has it already (saves a query).
    """
    rows = session.execute(
        select(
            Decision.id,
            Decision.kind,
            Decision.user_id,
            User.role,
            Decision.label_revision_id,
            Decision.undoes_id,
        )
        .join(User, User.id == Decision.user_id)
        .where(Decision.patch_id == patch.id)
        .order_by(Decision.id)
    ).all()
    facts = [
        DecisionFacts(i, k, u, r in ADJUDICATOR_ROLES, rev, undoes)
        for i, k, u, r, rev, undoes in rows
    ]
    current = current or current_revision(session=session, patch_id=patch.id)
    patch.status = derive_status(facts, current.id if current else None).value
    return patch.status


def derive_status(
    decisions: Iterable[DecisionFacts], current_revision_id: int | None
) -> PatchStatus:
    """A patch's status from its decisions (ordered oldest first).

    Undone decisions and skips do not count. A reviewer's (or admin's) latest standing
    decision settles the patch (adjudication). Otherwise each annotator's latest standing
    decision counts: one shared verdict gives its status; a correction with acceptances of
    that corrected revision is "corrected"; anything else is "disputed".
    """
    decisions = list(decisions)
    undone = {d.undoes_id for d in decisions if d.kind == DecisionKind.undo}
    standing = [
        d
        for d in decisions
        if d.kind not in (DecisionKind.undo, DecisionKind.skip) and d.id not in undone
    ]
    if not standing:
        return PatchStatus.unreviewed
    adjudications = [d for d in standing if d.by_reviewer]
    if adjudications:
        return STATUS_OF[DecisionKind(adjudications[-1].kind)]
    latest = {d.user_id: d for d in standing}.values()
    kinds = {d.kind for d in latest}
    if kinds == {DecisionKind.correct, DecisionKind.accept}:
        accepts_current = all(
            d.label_revision_id == current_revision_id for d in latest if d.kind == "accept"
        )
        return PatchStatus.corrected if accepts_current else PatchStatus.disputed
    if len(kinds) == 1:
        return STATUS_OF[DecisionKind(kinds.pop())]
    return PatchStatus.disputed
